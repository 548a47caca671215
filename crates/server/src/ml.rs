//! Machine learning at start-up: load ONNX Runtime if it is there, find
//! the configured models, and say plainly what runs and what does not.

use std::path::PathBuf;
use std::sync::Arc;

use shoebox_ml::npu::Npu;

use serde_json::{Value, json};
use shoebox_jobs::{FaceRecognition, Models, Neighbours};
use shoebox_ml::clip::Clip;
use shoebox_ml::faces::cluster::ClusterSettings;
use shoebox_ml::faces::{FaceDetector, FaceEmbedder};
use shoebox_ml::ocr::{self, Ocr};
use shoebox_ml::{Backend, ModelStore, Runtime};

use crate::config::Ml;
use crate::people::PeopleIndex;
use crate::smart_search::SmartIndex;

/// Immich's default for how sure a face must be.
const MIN_FACE_SCORE: f32 = 0.7;

/// Immich's default: photos closer than this (cosine distance) are duplicates.
const MAX_DUPLICATE_DISTANCE: f32 = 0.01;

/// What the server found; the status page shows it.
pub struct MachineLearning {
    runtime: RuntimeState,
    store: ModelStore,
    /// Rockchip's NPU runtime, when the board has one, or why it cannot be used.
    npu: Option<shoebox_ml::Result<Npu>>,
    tasks: Vec<Task>,
    /// The models jobs run, when any could be loaded.
    pub models: Option<Arc<Models>>,
    /// The photos' embeddings, when CLIP runs; jobs share it.
    pub smart_index: Option<Arc<SmartIndex>>,
    /// Who each face is, when faces are recognised; jobs share it.
    pub people: Option<Arc<PeopleIndex>>,
}

/// The in-memory indexes jobs and requests share.
struct Indexes {
    smart: Option<Arc<SmartIndex>>,
    people: Option<Arc<PeopleIndex>>,
}

/// One task's configured model and whether it is in the models folder.
struct Task {
    name: &'static str,
    model: Option<String>,
    installed: bool,
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
        let npu = Npu::probe();
        match &npu {
            Some(Ok(npu)) => tracing::info!(library = %npu.library().display(), soc = npu.soc(),
                "Rockchip NPU runtime loaded: models converted for this chip run on the NPU"),
            Some(Err(e)) => tracing::warn!("{e}"),
            None => tracing::info!("no NPU runtime (librknnrt.so) found; models run on the CPU"),
        }
        let store = ModelStore::new(&config.models_dir).with_npu(npu.as_ref().and_then(|n| n.as_ref().ok()).cloned());
        let task = |name, model: &Option<String>, installed: fn(&ModelStore, &str) -> bool| Task {
            name,
            model: model.clone(),
            installed: model.as_deref().is_some_and(|m| installed(&store, m)),
        };
        let tasks = vec![
            task("ocr", &config.ocr_model, Ocr::installed),
            task("faceDetection", &config.face_model, FaceDetector::installed),
            task("facialRecognition", &config.face_model, FaceEmbedder::installed),
            task("smartSearch", &config.clip_model, Clip::installed),
        ];
        for task in tasks.iter().filter(|t| !t.installed) {
            if let Some(model) = &task.model {
                tracing::info!(task = task.name, model, folder = %store.root().display(), "off: the model is not in the models folder");
            }
        }
        let needed = tasks.iter().any(|t| t.installed);
        let candidates = config.runtime_candidates();
        let runtime = match Runtime::find(&candidates) {
            None => RuntimeState::Missing(format!(
                "ONNX Runtime (libonnxruntime.so) was not found in {}: install it, or name it in the config file's [ml] runtime",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )),
            Some(path) if !needed => RuntimeState::Unused(path.to_owned()),
            Some(path) => match Runtime::load(path, threads) {
                Ok(rt) => RuntimeState::Loaded(rt),
                Err(e) => RuntimeState::Missing(e.to_string()),
            },
        };
        match &runtime {
            RuntimeState::Loaded(rt) => tracing::info!(library = %rt.library().display(), version = rt.version(), "ONNX Runtime loaded"),
            RuntimeState::Unused(_) => {}
            RuntimeState::Missing(e) if needed => {
                tracing::warn!("machine learning is off: {e}. Photos, thumbnails and search by metadata work as usual")
            }
            RuntimeState::Missing(e) => tracing::info!("machine learning is off: {e}"),
        }
        let (models, indexes) = match &runtime {
            RuntimeState::Loaded(rt) => {
                let (models, indexes) = load_models(rt, &store, config, &tasks);
                (Some(Arc::new(models)), indexes)
            }
            _ => (None, Indexes { smart: None, people: None }),
        };
        MachineLearning {
            runtime,
            store,
            npu,
            tasks,
            models,
            smart_index: indexes.smart,
            people: indexes.people,
        }
    }

    /// The chip the board's NPU runs models converted for ("rk3588").
    pub fn npu_soc(&self) -> Option<&str> {
        self.store.npu().map(Npu::soc)
    }

    /// CLIP and the index of what it has seen, when search by content is on.
    pub fn smart_search(&self) -> Option<(&Clip, &SmartIndex)> {
        let (_, clip) = self.models.as_deref()?.clip.as_ref()?;
        Some((clip, self.smart_index.as_deref()?))
    }

    /// Whether a task (a job queue's name) runs.
    pub fn runs(&self, task: &str) -> bool {
        self.models.as_deref().is_some_and(|m| match task {
            "smartSearch" => m.clip.is_some(),
            "duplicateDetection" => m.neighbours.is_some(),
            "facialRecognition" => m.recognition.is_some(),
            "ocr" => m.ocr.is_some(),
            "faceDetection" => m.faces.is_some(),
            _ => false,
        })
    }

    pub fn status_json(&self) -> Value {
        let runtime = match &self.runtime {
            RuntimeState::Loaded(rt) => {
                json!({ "library": rt.library().display().to_string(), "version": rt.version(), "loaded": true })
            }
            RuntimeState::Unused(path) => json!({ "library": path.display().to_string(), "loaded": false }),
            RuntimeState::Missing(e) => json!({ "error": e, "loaded": false }),
        };
        let models = self.models.as_deref();
        // Whether a task's model is loaded, and what runs it (OCR: the CPU).
        let idle = (false, Backend::Cpu);
        let model = |task: &str| match (task, models) {
            ("smartSearch", Some(m)) => m.clip.as_ref().map_or(idle, |(_, c)| (c.is_loaded(), c.backend())),
            ("ocr", Some(m)) => (m.ocr.as_ref().is_some_and(Ocr::is_loaded), Backend::Cpu),
            ("faceDetection", Some(m)) => m.faces.as_ref().map_or(idle, |f| (f.is_loaded(), f.backend())),
            ("facialRecognition", Some(m)) => m.face_embedder.as_ref().map_or(idle, |e| (e.is_loaded(), e.backend())),
            _ => idle,
        };
        let npu = self.npu.as_ref().map(|npu| match npu {
            Ok(npu) => json!({ "library": npu.library().display().to_string(), "soc": npu.soc() }),
            Err(e) => json!({ "error": e.to_string() }),
        });
        json!({
            "runtime": runtime,
            "npu": npu,
            "modelsDir": self.store.root().display().to_string(),
            "models": self.tasks.iter().map(|t| {
                let (loaded, backend) = model(t.name);
                json!({
                    "task": t.name,
                    "name": t.model,
                    "installed": t.installed,
                    "enabled": self.runs(t.name),
                    "loaded": loaded,
                    "backend": backend.as_str(),
                })
            }).collect::<Vec<_>>(),
        })
    }
}

/// Sessions load on first use, so this only checks names and paths. With
/// CLIP comes the index of its embeddings, with face recognition the
/// index of people.
fn load_models(runtime: &Arc<Runtime>, store: &ModelStore, config: &Ml, tasks: &[Task]) -> (Models, Indexes) {
    let wanted = |name: &str| {
        tasks
            .iter()
            .find(|t| t.name == name && t.installed)
            .and_then(|t| t.model.as_deref())
    };
    let clip = load("smartSearch", wanted("smartSearch"), |name| {
        Clip::new(runtime, store, name).map(|clip| (name.to_owned(), clip))
    });
    let index = clip.as_ref().map(|(name, _)| Arc::new(SmartIndex::new(name)));
    let faces = load("faceDetection", wanted("faceDetection"), |name| {
        FaceDetector::new(runtime, store, name)
    });
    // Recognition embeds the faces detection finds, so it needs both.
    let face_embedder = faces.as_ref().and_then(|_| {
        load("facialRecognition", wanted("facialRecognition"), |name| {
            FaceEmbedder::new(runtime, store, name)
        })
    });
    let people = face_embedder
        .as_ref()
        .map(|_| Arc::new(PeopleIndex::new(ClusterSettings::default())));
    let models = Models {
        clip,
        neighbours: index.clone().map(|index| index as Arc<dyn Neighbours>),
        max_duplicate_distance: MAX_DUPLICATE_DISTANCE,
        ocr: load("ocr", wanted("ocr"), |name| Ocr::new(runtime, store, name)),
        ocr_settings: ocr::Settings::default(),
        faces,
        face_embedder,
        recognition: people.clone().map(|people| people as Arc<dyn FaceRecognition>),
        min_face_score: MIN_FACE_SCORE,
        idle_unload: config.idle_unload,
    };
    (models, Indexes { smart: index, people })
}

fn load<T>(task: &str, model: Option<&str>, make: impl FnOnce(&str) -> shoebox_ml::Result<T>) -> Option<T> {
    let model = model?;
    match make(model) {
        Ok(loaded) => {
            tracing::info!(task, model, "on: photos are looked at by this model");
            Some(loaded)
        }
        Err(e) => {
            tracing::warn!(task, model, error = %e, "off: the model could not be set up");
            None
        }
    }
}
