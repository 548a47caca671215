//! Rockchip's NPU runtime (`librknnrt.so`), found by probing. Models for it
//! are converted on a PC (rknn-toolkit2) and sit beside the ONNX files as
//! `model.rknn`; until one is there, every model runs on the CPU.

use std::path::PathBuf;

/// Where the vendor's runtime library was found, if anywhere.
pub fn probe() -> Option<PathBuf> {
    const PLACES: [&str; 3] = [
        "/usr/lib/librknnrt.so",
        "/usr/lib64/librknnrt.so",
        "/usr/lib/aarch64-linux-gnu/librknnrt.so",
    ];
    PLACES.iter().map(PathBuf::from).find(|p| p.is_file())
}
