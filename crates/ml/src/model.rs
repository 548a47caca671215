//! Models on disk in Immich's layout, loaded on first use and unloaded
//! when idle.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ort::session::Session;
use ort::value::{DynValue, Outlet, PrimitiveTensorElementType, Tensor};

use crate::{Error, Result, Runtime};

/// One network of a model, named as Immich names its folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelPart {
    Detection,
    Recognition,
    Visual,
    Textual,
}

impl ModelPart {
    pub fn folder(self) -> &'static str {
        match self {
            ModelPart::Detection => "detection",
            ModelPart::Recognition => "recognition",
            ModelPart::Visual => "visual",
            ModelPart::Textual => "textual",
        }
    }
}

/// The models folder: `<root>/<model name>/<part>/model.onnx`, as Immich's
/// machine-learning cache lays it out.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
}

impl ModelStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ModelStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a model. The name comes from settings, so it must not
    /// reach outside the store.
    pub fn model_dir(&self, name: &str) -> Result<PathBuf> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if name.is_empty() || name.starts_with('.') || !name.chars().all(allowed) {
            return Err(Error::BadModelName(name.to_owned()));
        }
        Ok(self.root.join(name))
    }

    /// The file of one part of a model.
    pub fn path(&self, name: &str, part: ModelPart) -> Result<PathBuf> {
        Ok(self.model_dir(name)?.join(part.folder()).join("model.onnx"))
    }

    /// The folder of one part of a model, for networks of several files.
    pub fn folder(&self, name: &str, part: ModelPart) -> Result<PathBuf> {
        Ok(self.path(name, part)?.with_file_name(""))
    }

    /// Whether every part of a model is present.
    pub fn has(&self, name: &str, parts: &[ModelPart]) -> bool {
        parts.iter().all(|&part| self.path(name, part).is_ok_and(|p| p.is_file()))
    }
}

/// One output tensor of a network.
pub(crate) struct Output<'a> {
    pub shape: Vec<i64>,
    pub values: &'a [f32],
}

/// A network that loads on first use and can be unloaded when idle.
/// Sessions run one inference at a time; callers queue on the lock.
pub struct Model {
    runtime: Arc<Runtime>,
    path: PathBuf,
    loaded: Mutex<Option<Loaded>>,
}

struct Loaded {
    session: Session,
    last_used: Instant,
}

impl Model {
    pub fn new(runtime: Arc<Runtime>, path: PathBuf) -> Self {
        Model {
            runtime,
            path,
            loaded: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the session, loading it first if needed.
    pub(crate) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut slot = self.lock();
        if slot.is_none() {
            tracing::info!(model = %self.path.display(), "loading model");
            *slot = Some(Loaded {
                session: self.runtime.session(&self.path)?,
                last_used: Instant::now(),
            });
        }
        let loaded = slot.as_mut().expect("loaded above");
        loaded.last_used = Instant::now();
        f(&mut loaded.session)
    }

    /// Runs the network on one float tensor and hands `read` its outputs,
    /// in the model's order.
    pub(crate) fn infer<T, const N: usize>(
        &self,
        shape: [usize; N],
        data: Vec<f32>,
        read: impl FnOnce(&[Output<'_>]) -> Result<T>,
    ) -> Result<T> {
        self.run(
            |takes| {
                let name = takes.first().map(|input| input.name().to_owned()).unwrap_or_default();
                Ok(vec![(name, self.tensor(shape, data)?)])
            },
            read,
        )
    }

    /// Runs the network on the named inputs `inputs` makes once it sees
    /// which ones the network takes, and hands `read` its float outputs.
    pub(crate) fn run<T>(
        &self,
        inputs: impl FnOnce(&[Outlet]) -> Result<Vec<(String, DynValue)>>,
        read: impl FnOnce(&[Output<'_>]) -> Result<T>,
    ) -> Result<T> {
        self.with_session(|session| {
            let inputs = inputs(session.inputs())?;
            let outputs = session.run(inputs).map_err(|e| self.failed(e))?;
            let outputs = (0..outputs.len())
                .map(|i| {
                    let (shape, values) = outputs[i].try_extract_tensor::<f32>().map_err(|e| self.failed(e))?;
                    Ok(Output {
                        shape: shape.to_vec(),
                        values,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            read(&outputs)
        })
    }

    /// An input tensor of any element type ONNX Runtime takes.
    pub(crate) fn tensor<E: PrimitiveTensorElementType + Clone + std::fmt::Debug + 'static, const N: usize>(
        &self,
        shape: [usize; N],
        data: Vec<E>,
    ) -> Result<DynValue> {
        Ok(Tensor::from_array((shape, data)).map_err(|e| self.failed(e))?.into_dyn())
    }

    /// Frees the session when it has not been used for `idle`; true when it did.
    /// A model in use keeps its lock, so it is never unloaded mid-inference.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        let Ok(mut slot) = self.loaded.try_lock() else {
            return false;
        };
        if slot.as_ref().is_some_and(|l| l.last_used.elapsed() >= idle) {
            *slot = None;
            shoebox_allocator::release_freed_memory();
            tracing::info!(model = %self.path.display(), "unloaded idle model");
            return true;
        }
        false
    }

    pub fn is_loaded(&self) -> bool {
        self.lock().is_some()
    }

    pub(crate) fn failed(&self, reason: impl std::fmt::Display) -> Error {
        Error::Model {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Loaded>> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
