//! The runtime, models and sample photos ci/fetch-ml.sh unpacks into target/ml.
// Each test file uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shoebox_ml::{ModelStore, Runtime};

pub fn ml_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ml")
}

pub fn runtime() -> Arc<Runtime> {
    let library = ml_dir().join("runtime/libonnxruntime.so");
    assert!(library.is_file(), "{} is missing: run ci/fetch-ml.sh", library.display());
    Runtime::load(&library, 2).expect("ONNX Runtime loads")
}

pub fn store() -> ModelStore {
    ModelStore::new(ml_dir().join("models"))
}

pub fn sample(name: &str) -> image::RgbImage {
    let path = ml_dir().join("samples").join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run ci/fetch-ml.sh", path.display()))
        .into_rgb8()
}
