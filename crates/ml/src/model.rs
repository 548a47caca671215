//! Models on disk in Immich's layout, loaded on first use and unloaded
//! when idle.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ort::session::Session;
use ort::value::{DynValue, Outlet, PrimitiveTensorElementType, Tensor};

use crate::npu::{Npu, NpuSession};
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
    /// The board's NPU, for the networks converted for it.
    npu: Option<Npu>,
}

impl ModelStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ModelStore {
            root: root.into(),
            npu: None,
        }
    }

    pub fn with_npu(self, npu: Option<Npu>) -> Self {
        ModelStore { npu, ..self }
    }

    pub fn npu(&self) -> Option<&Npu> {
        self.npu.as_ref()
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

/// What runs a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// ONNX Runtime on the CPU.
    Cpu,
    /// Rockchip's NPU, on the network's `.rknn` conversion.
    Npu,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Npu => "npu",
        }
    }
}

/// A network that loads on first use and can be unloaded when idle.
/// Sessions run one inference at a time; callers queue on the lock.
pub struct Model {
    runtime: Arc<Runtime>,
    path: PathBuf,
    /// The NPU and the network's conversion for it, until the NPU refuses it.
    npu: Mutex<Option<(Npu, PathBuf)>>,
    loaded: Mutex<Option<Loaded>>,
}

struct Loaded {
    session: Sessions,
    last_used: Instant,
}

enum Sessions {
    Cpu(Session),
    Npu(NpuSession),
}

impl Model {
    pub fn new(runtime: Arc<Runtime>, path: PathBuf) -> Self {
        Model {
            runtime,
            path,
            npu: Mutex::new(None),
            loaded: Mutex::new(None),
        }
    }

    /// The same network, run on the NPU when there is one and the model
    /// folder holds its conversion for the chip; on the CPU otherwise.
    pub fn on_npu(self, npu: Option<&Npu>) -> Self {
        let conversion = npu.and_then(|npu| Some((npu.clone(), npu.model_for(&self.path)?)));
        *lock(&self.npu) = conversion;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What runs the network, or will when it loads.
    pub fn backend(&self) -> Backend {
        if lock(&self.npu).is_some() { Backend::Npu } else { Backend::Cpu }
    }

    /// Runs `f` on the CPU session, loading it first if needed. Only for
    /// networks never put on the NPU.
    pub(crate) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        self.with_loaded(|session| match session {
            Sessions::Cpu(session) => f(session),
            Sessions::Npu(_) => Err(self.failed("this network runs on the NPU, which takes one image tensor")),
        })
    }

    fn with_loaded<T>(&self, f: impl FnOnce(&mut Sessions) -> Result<T>) -> Result<T> {
        let mut slot = lock(&self.loaded);
        if slot.is_none() {
            *slot = Some(Loaded {
                session: self.load()?,
                last_used: Instant::now(),
            });
        }
        let loaded = slot.as_mut().expect("loaded above");
        loaded.last_used = Instant::now();
        f(&mut loaded.session)
    }

    /// The NPU session when the NPU takes the network; else, and for good
    /// once it refused it, the CPU session.
    fn load(&self) -> Result<Sessions> {
        let mut npu = lock(&self.npu);
        if let Some((runtime, rknn)) = npu.as_ref() {
            match runtime.session(rknn) {
                Ok(session) => {
                    tracing::info!(model = %rknn.display(), "loading model on the NPU");
                    return Ok(Sessions::Npu(session));
                }
                Err(e) => {
                    tracing::warn!(model = %self.path.display(), "the NPU cannot run this model, so it runs on the CPU: {e}");
                    *npu = None;
                }
            }
        }
        tracing::info!(model = %self.path.display(), "loading model on the CPU");
        Ok(Sessions::Cpu(self.runtime.session(&self.path)?))
    }

    /// Runs the network on one float tensor and hands `read` its outputs,
    /// in the model's order.
    pub(crate) fn infer<T, const N: usize>(
        &self,
        shape: [usize; N],
        data: Vec<f32>,
        read: impl FnOnce(&[Output<'_>]) -> Result<T>,
    ) -> Result<T> {
        self.with_loaded(|session| match session {
            Sessions::Npu(session) => {
                let outputs = session.infer(&data).map_err(|e| self.failed(e))?;
                let outputs: Vec<Output<'_>> = outputs
                    .iter()
                    .map(|(shape, values)| Output {
                        shape: shape.clone(),
                        values,
                    })
                    .collect();
                read(&outputs)
            }
            Sessions::Cpu(session) => self.run_cpu(
                session,
                |takes| {
                    let name = takes.first().map(|input| input.name().to_owned()).unwrap_or_default();
                    Ok(vec![(name, self.tensor(shape, data)?)])
                },
                read,
            ),
        })
    }

    /// Runs the network on the named inputs `inputs` makes once it sees
    /// which ones the network takes, and hands `read` its float outputs.
    pub(crate) fn run<T>(
        &self,
        inputs: impl FnOnce(&[Outlet]) -> Result<Vec<(String, DynValue)>>,
        read: impl FnOnce(&[Output<'_>]) -> Result<T>,
    ) -> Result<T> {
        self.with_session(|session| self.run_cpu(session, inputs, read))
    }

    fn run_cpu<T>(
        &self,
        session: &mut Session,
        inputs: impl FnOnce(&[Outlet]) -> Result<Vec<(String, DynValue)>>,
        read: impl FnOnce(&[Output<'_>]) -> Result<T>,
    ) -> Result<T> {
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
        lock(&self.loaded).is_some()
    }

    pub(crate) fn failed(&self, reason: impl std::fmt::Display) -> Error {
        Error::Model {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
