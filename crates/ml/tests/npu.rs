//! The NPU backend's loading and its fall-back to the CPU. This machine has
//! no Rockchip NPU and no librknnrt.so (the vendor ships it for ARM only),
//! so inference on the NPU itself is not exercised here: the tests load a
//! library that is not the runtime, and one with the runtime's entry points
//! whose rknn_init refuses as the real one does without the rknpu driver.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{Rgb, RgbImage};
use shoebox_ml::faces::FaceDetector;
use shoebox_ml::npu::Npu;
use shoebox_ml::{Backend, Error, ModelStore};

#[test]
fn the_board_is_probed_and_this_machine_has_no_npu() {
    if let Some(found) = shoebox_ml::npu::PLACES.iter().find(|p| Path::new(p).is_file()) {
        eprintln!("SKIPPED: {found} exists here; the probe is for machines without it");
        return;
    }
    assert!(Npu::probe().is_none());
    eprintln!("no librknnrt.so here: inference on a real NPU is not exercised");
}

#[test]
fn a_library_that_is_not_the_npu_runtime_is_refused_with_what_to_do() {
    let onnxruntime = common::ml_dir().join("runtime/libonnxruntime.so");
    let err = Npu::load(&onnxruntime, "rk3588").unwrap_err();
    assert!(matches!(err, Error::NpuRuntime { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("no rknn_init"), "{message}");
    assert!(message.contains("Models run on the CPU"), "{message}");

    let missing = Npu::load(Path::new("/nonexistent/librknnrt.so"), "rk3588").unwrap_err();
    assert!(matches!(missing, Error::NpuRuntime { .. }), "{missing:?}");
}

#[test]
fn a_network_the_npu_refuses_runs_on_the_cpu_with_the_same_result() {
    let scratch = tempfile::tempdir().unwrap();
    let npu = Npu::load(&refusing_runtime(scratch.path()), "rk3588").expect("it has the runtime's entry points");

    // The test SCRFD pack with a conversion for the chip beside its network.
    let models = scratch.path().join("models");
    copy_dir(&common::ml_dir().join("models/test-buffalo"), &models.join("test-buffalo"));
    let rknn = models.join("test-buffalo/detection/rknpu/rk3588/model.rknn");
    std::fs::create_dir_all(rknn.parent().unwrap()).unwrap();
    std::fs::write(&rknn, b"RKNN converted for rk3588").unwrap();
    assert_eq!(npu.model_for(&models.join("test-buffalo/detection/model.onnx")), Some(rknn));
    let other_chip = Npu::load(npu.library(), "rk3566").unwrap();
    assert_eq!(other_chip.model_for(&models.join("test-buffalo/detection/model.onnx")), None);

    let store = ModelStore::new(&models).with_npu(Some(npu));
    let on_npu = FaceDetector::new(&common::runtime(), &store, "test-buffalo").unwrap();
    assert_eq!(
        on_npu.backend(),
        Backend::Npu,
        "planned for the NPU: the runtime and a conversion are there"
    );
    let on_cpu = FaceDetector::new(&common::runtime(), &ModelStore::new(&models), "test-buffalo").unwrap();
    assert_eq!(on_cpu.backend(), Backend::Cpu);

    let photo = RgbImage::from_fn(640, 640, |x, y| {
        if (320..352).contains(&x) && (128..160).contains(&y) {
            Rgb([255, 0, 0])
        } else {
            Rgb([128, 128, 128])
        }
    });
    let faces = on_npu.detect(&photo, 0.7).expect("the CPU takes over");
    assert_eq!(
        on_npu.backend(),
        Backend::Cpu,
        "the NPU refused the network, so the status says CPU"
    );
    assert_eq!(faces.len(), 1);
    assert_eq!(faces, on_cpu.detect(&photo, 0.7).unwrap());
    // The next photo goes straight to the CPU session.
    assert_eq!(on_npu.detect(&photo, 0.7).unwrap(), faces);
}

/// A shared library with librknnrt's entry points whose rknn_init answers
/// RKNN_ERR_DEVICE_UNAVAILABLE, as the vendor's does on a kernel without
/// the rknpu driver.
fn refusing_runtime(dir: &Path) -> PathBuf {
    let source = dir.join("rknnrt.c");
    std::fs::write(
        &source,
        "#include <stdint.h>\n\
         int rknn_init(uint64_t *ctx, void *model, uint32_t size, uint32_t flag, void *extend) { return -3; }\n\
         int rknn_destroy(uint64_t ctx) { return -7; }\n\
         int rknn_query(uint64_t ctx, int cmd, void *info, uint32_t size) { return -7; }\n\
         int rknn_inputs_set(uint64_t ctx, uint32_t n, void *inputs) { return -7; }\n\
         int rknn_run(uint64_t ctx, void *extend) { return -7; }\n\
         int rknn_outputs_get(uint64_t ctx, uint32_t n, void *outputs, void *extend) { return -7; }\n",
    )
    .unwrap();
    let library = dir.join("librknnrt.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .expect("cc (gcc) builds the stand-in runtime: apt-get install gcc");
    assert!(status.success());
    library
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
