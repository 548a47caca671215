//! Machine learning at start-up: load ONNX Runtime if it is there, find
//! the configured models, and say plainly what runs and what does not.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use shoebox_jobs::TextRecognition;
use shoebox_ml::ocr::{Ocr, Settings};
use shoebox_ml::{ModelStore, Runtime};

use crate::config::Ml;

/// What the server found; the status page shows it.
pub struct MachineLearning {
    runtime: RuntimeState,
    store: ModelStore,
    /// Rockchip's NPU runtime, when the board has one.
    npu: Option<PathBuf>,
    ocr_model: Option<String>,
    pub ocr: Option<Arc<TextRecognition>>,
}

enum RuntimeState {
    Loaded(Arc<Runtime>),
    /// Found, but no model needs it yet.
    Unused(PathBuf),
    /// Not found or not loadable: why, and what to do.
    Missing(String),
}

impl MachineLearning {
    /// Blocking: loads a shared library. The runtime is loaded only when a
    /// model is installed, so a box without models keeps its memory.
    pub fn start(config: &Ml, threads: usize) -> MachineLearning {
        let store = ModelStore::new(&config.models_dir);
        let ocr_model = config.ocr_model.clone();
        let installed = ocr_model.as_deref().filter(|name| store.has(name, &Ocr::PARTS));
        if let (Some(name), None) = (&ocr_model, installed) {
            tracing::info!(model = name, folder = %store.root().display(), "text recognition is off: the model is not in the models folder");
        }
        let candidates = config.runtime_candidates();
        let runtime = match (Runtime::find(&candidates), installed) {
            (None, _) => RuntimeState::Missing(format!(
                "ONNX Runtime (libonnxruntime.so) was not found in {}: install it, or name it in the config file's [ml] runtime",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )),
            (Some(path), None) => RuntimeState::Unused(path.to_owned()),
            (Some(path), Some(_)) => match Runtime::load(path, threads) {
                Ok(rt) => RuntimeState::Loaded(rt),
                Err(e) => RuntimeState::Missing(e.to_string()),
            },
        };
        match &runtime {
            RuntimeState::Loaded(rt) => tracing::info!(library = %rt.library().display(), version = rt.version(), "ONNX Runtime loaded"),
            RuntimeState::Unused(_) => {}
            RuntimeState::Missing(e) if installed.is_some() => {
                tracing::warn!("machine learning is off: {e}. Photos, thumbnails and search by metadata work as usual")
            }
            RuntimeState::Missing(e) => tracing::info!("machine learning is off: {e}"),
        }
        let npu = shoebox_ml::npu::probe();
        match &npu {
            Some(path) => {
                tracing::info!(library = %path.display(), "Rockchip NPU runtime found; no NPU models are installed, so models run on the CPU")
            }
            None => tracing::info!("no NPU runtime (librknnrt.so) found; models run on the CPU"),
        }
        let ocr = match (&runtime, installed) {
            (RuntimeState::Loaded(rt), Some(name)) => match Ocr::new(rt, &store, name) {
                Ok(model) => {
                    tracing::info!(model = name, backend = "cpu", "text recognition on: photos are read for text");
                    Some(Arc::new(TextRecognition {
                        model,
                        settings: Settings::default(),
                        idle_unload: config.idle_unload,
                    }))
                }
                Err(e) => {
                    tracing::warn!(model = name, error = %e, "text recognition is off");
                    None
                }
            },
            _ => None,
        };
        MachineLearning {
            runtime,
            store,
            npu,
            ocr_model,
            ocr,
        }
    }

    pub fn status_json(&self) -> Value {
        let runtime = match &self.runtime {
            RuntimeState::Loaded(rt) => {
                json!({ "library": rt.library().display().to_string(), "version": rt.version(), "loaded": true })
            }
            RuntimeState::Unused(path) => json!({ "library": path.display().to_string(), "loaded": false }),
            RuntimeState::Missing(e) => json!({ "error": e, "loaded": false }),
        };
        json!({
            "runtime": runtime,
            "npu": self.npu.as_ref().map(|p| p.display().to_string()),
            "modelsDir": self.store.root().display().to_string(),
            "models": [{
                "task": "ocr",
                "name": self.ocr_model,
                "installed": self.ocr_model.as_deref().is_some_and(|n| self.store.has(n, &Ocr::PARTS)),
                "enabled": self.ocr.is_some(),
                "loaded": self.ocr.as_ref().is_some_and(|o| o.model.is_loaded()),
                "backend": "cpu",
            }],
        })
    }
}
