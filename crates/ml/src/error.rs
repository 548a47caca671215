use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "ONNX Runtime could not be loaded from {path}: {reason}. Install libonnxruntime.so 1.22 or newer \
         (ci/fetch-ml.sh takes it from PyPI's onnxruntime wheel) and name it in the config file's [ml] runtime"
    )]
    Runtime { path: PathBuf, reason: String },
    #[error(
        "Rockchip's NPU runtime could not be used from {path}: {reason}. Models run on the CPU; for the NPU, \
         install the librknnrt.so that matches the board's rknpu driver"
    )]
    NpuRuntime { path: PathBuf, reason: String },
    #[error("ONNX Runtime was already loaded from {loaded}; restart shoeboxd to use {wanted}")]
    RuntimeAlreadyLoaded { loaded: PathBuf, wanted: PathBuf },
    #[error("the model file {0} is missing: download the model from the admin page or import its folder")]
    ModelMissing(PathBuf),
    #[error("{0:?} is not a model name: use letters, digits, '.', '_' and '-' only")]
    BadModelName(String),
    #[error("the model {path} failed: {reason}. The file may be damaged: download or import it again")]
    Model { path: PathBuf, reason: String },
}
