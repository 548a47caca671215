//! ONNX Runtime, loaded once per process from a shared library.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::environment::Environment;
use ort::ep::CPU;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::{Error, Result};

/// ONNX Runtime allows one environment per process, so every caller shares
/// the first one loaded.
static LOADED: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

pub struct Runtime {
    environment: Environment,
    library: PathBuf,
    version: String,
    threads: usize,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .field("version", &self.version)
            .finish()
    }
}

impl Runtime {
    /// Loads `libonnxruntime.so` from `library`. Each model then runs on
    /// `threads` threads: the job queue already runs one job per spare core.
    pub fn load(library: &Path, threads: usize) -> Result<Arc<Runtime>> {
        let failed = |reason: String| Error::Runtime {
            path: library.to_owned(),
            reason,
        };
        // dlopen would search the library path for a bare name; a missing
        // file is a clearer message than the loader's.
        if !library.is_file() {
            return Err(failed("no such file".into()));
        }
        let mut loaded = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = loaded.as_ref() {
            return if runtime.library == library {
                Ok(runtime.clone())
            } else {
                Err(Error::RuntimeAlreadyLoaded {
                    loaded: runtime.library.clone(),
                    wanted: library.to_owned(),
                })
            };
        }
        let environment = ort::init_from(library)
            .map_err(|e| failed(e.to_string()))?
            .with_name("shoebox")
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let version = ort::info()
            .split(',')
            .find_map(|part| part.trim().strip_prefix("git-branch=rel-"))
            .unwrap_or("")
            .to_owned();
        let runtime = Arc::new(Runtime {
            environment,
            library: library.to_owned(),
            version,
            threads: threads.max(1),
        });
        *loaded = Some(runtime.clone());
        Ok(runtime)
    }

    /// The first of `candidates` that is a file, for a server that looks in
    /// the usual places when the config names none.
    pub fn find(candidates: &[PathBuf]) -> Option<&Path> {
        candidates.iter().map(PathBuf::as_path).find(|path| path.is_file())
    }

    pub fn library(&self) -> &Path {
        &self.library
    }

    /// ONNX Runtime's release, from its build information ("1.32.0").
    pub fn version(&self) -> &str {
        &self.version
    }

    pub(crate) fn session(&self, model: &Path) -> Result<Session> {
        let failed = |reason: String| Error::Model {
            path: model.to_owned(),
            reason,
        };
        if !model.is_file() {
            return Err(Error::ModelMissing(model.to_owned()));
        }
        Session::builder(&self.environment)
            .map_err(|e| failed(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| failed(e.to_string()))?
            .with_intra_threads(self.threads)
            .map_err(|e| failed(e.to_string()))?
            // The arena keeps the largest input's buffers for good (over
            // 1 GB after a few big photos); without it memory goes back
            // after each image, at little cost in speed. RapidOCR, which
            // Immich uses, turns it off too.
            .with_execution_providers([CPU::default().with_arena_allocator(false).build()])
            .map_err(|e| failed(e.to_string()))?
            .with_memory_pattern(false)
            .map_err(|e| failed(e.to_string()))?
            .commit_from_file(model)
            .map_err(|e| failed(e.to_string()))
    }
}
