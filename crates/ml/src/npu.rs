//! Rockchip's NPU runtime (`librknnrt.so`), found by probing and loaded at
//! run time through `rknpu2`. Models for it are converted on a PC
//! (rknn-toolkit2) and sit in Immich's layout beside the ONNX file, as
//! `<part>/rknpu/<soc>/model.rknn`; a part without one, or one the runtime
//! refuses, runs its ONNX model on the CPU.

use std::path::{Path, PathBuf};

use rknpu2::api::RknnInitFlags;
use rknpu2::api::runtime::RuntimeAPI;
use rknpu2::io::buffer::{BufMutView, BufView};
use rknpu2::io::input::Input;
use rknpu2::io::output::{Output, OutputKind};
use rknpu2::query::{InputOutputNum, OutputAttr, TensorAttrView};
use rknpu2::tensor::{TensorFormat, TensorFormatKind};

use crate::{Error, Result};

/// Where the vendor ships its runtime.
pub const PLACES: [&str; 3] = [
    "/usr/lib/librknnrt.so",
    "/usr/lib64/librknnrt.so",
    "/usr/lib/aarch64-linux-gnu/librknnrt.so",
];

/// The runtime's entry points this backend calls. `rknpu2` resolves them
/// lazily and panics on a missing one, so they are checked on loading.
const SYMBOLS: [&str; 6] = [
    "rknn_init",
    "rknn_destroy",
    "rknn_query",
    "rknn_inputs_set",
    "rknn_run",
    "rknn_outputs_get",
];

/// The NPU runtime of this board: its library and the chip models are
/// converted for.
#[derive(Debug, Clone)]
pub struct Npu {
    library: PathBuf,
    soc: String,
}

impl Npu {
    /// The runtime in the vendor's usual places, on a Rockchip board.
    pub fn probe() -> Option<Result<Npu>> {
        let library = PLACES.iter().map(Path::new).find(|p| p.is_file())?;
        let soc = soc(&std::fs::read("/proc/device-tree/compatible").unwrap_or_default());
        Some(
            soc.ok_or_else(|| npu_failed(library, "this is not a Rockchip board (no rockchip,rkNNNN in the device tree)"))
                .and_then(|soc| Npu::load(library, &soc)),
        )
    }

    /// Opens `library` as the NPU runtime for chip `soc` ("rk3588").
    pub fn load(library: &Path, soc: &str) -> Result<Npu> {
        // SAFETY: loading runs the library's initialisers; it is the
        // vendor's runtime, found where the board's image installs it.
        let lib = unsafe { libloading::Library::new(library) }.map_err(|e| npu_failed(library, e))?;
        for symbol in SYMBOLS {
            // SAFETY: only looked up, never called through this type.
            unsafe { lib.get::<unsafe extern "C" fn()>(symbol.as_bytes()) }
                .map_err(|_| npu_failed(library, format!("it has no {symbol}: is it Rockchip's librknnrt.so?")))?;
        }
        Ok(Npu {
            library: library.to_owned(),
            soc: soc.to_owned(),
        })
    }

    pub fn library(&self) -> &Path {
        &self.library
    }

    pub fn soc(&self) -> &str {
        &self.soc
    }

    /// The conversion of an ONNX network for this chip, if there is one:
    /// `<part>/rknpu/<soc>/model.rknn` for `<part>/model.onnx`.
    pub fn model_for(&self, onnx: &Path) -> Option<PathBuf> {
        let rknn = onnx.with_file_name("rknpu").join(&self.soc).join("model.rknn");
        rknn.is_file().then_some(rknn)
    }

    /// Loads a converted network onto the NPU.
    pub(crate) fn session(&self, model: &Path) -> Result<NpuSession> {
        let failed = |reason: String| Error::Model {
            path: model.to_owned(),
            reason,
        };
        let mut bytes = std::fs::read(model).map_err(|e| failed(e.to_string()))?;
        let rknn = rknpu2::RKNN::new_with_library(&self.library, &mut bytes, RknnInitFlags::empty()).map_err(|e| {
            failed(format!(
                "the NPU runtime refused it ({e}); it may be converted for another chip or toolkit"
            ))
        })?;
        let count = rknn.query::<InputOutputNum>().map_err(|e| failed(e.to_string()))?;
        let outputs = (0..count.output_num())
            .map(|i| {
                let attr = rknn.query_with_input::<OutputAttr>(i).map_err(|e| failed(e.to_string()))?;
                Ok(attr.dims().iter().map(|&d| i64::from(d)).collect())
            })
            .collect::<Result<_>>()?;
        Ok(NpuSession {
            rknn: Box::new(rknn),
            outputs,
        })
    }
}

/// The chip a device tree's `compatible` list names ("rockchip,rk3588" gives
/// "rk3588"), as Immich names the folders of converted models.
fn soc(compatible: &[u8]) -> Option<String> {
    compatible
        .split(|&b| b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok()?.strip_prefix("rockchip,"))
        .find(|chip| chip.len() > 2 && chip.starts_with("rk") && chip[2..].chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
}

fn npu_failed(library: &Path, reason: impl std::fmt::Display) -> Error {
    Error::NpuRuntime {
        path: library.to_owned(),
        reason: reason.to_string(),
    }
}

/// One network loaded on the NPU, with its outputs' shapes.
pub(crate) struct NpuSession {
    // Boxed: the runtime's table of entry points is over a kilobyte.
    rknn: Box<rknpu2::RKNN<RuntimeAPI>>,
    outputs: Vec<Vec<i64>>,
}

/// A network's outputs: each one's shape and values.
type Outputs = Vec<(Vec<i64>, Vec<f32>)>;

impl NpuSession {
    /// Runs the network on one NCHW float tensor (the runtime converts it
    /// to its own layout and precision) and returns its outputs as floats.
    pub(crate) fn infer(&self, data: &[f32]) -> std::result::Result<Outputs, rknpu2::Error> {
        let input = Input::new(0, BufView::F32(data), false, TensorFormatKind::NCHW(TensorFormat::NCHW));
        self.rknn.set_inputs(input)?;
        self.rknn.run()?;
        let mut values: Vec<Vec<f32>> = self
            .outputs
            .iter()
            .map(|shape| vec![0.0; shape.iter().product::<i64>().max(0) as usize])
            .collect();
        let mut outputs: Vec<Output> = values
            .iter_mut()
            .enumerate()
            .map(|(i, buf)| Output {
                index: i as u32,
                kind: OutputKind::Preallocated {
                    buf: BufMutView::F32(buf),
                    want_float: true,
                },
            })
            .collect();
        self.rknn.get_outputs(&mut outputs)?;
        drop(outputs);
        Ok(self.outputs.iter().cloned().zip(values).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chip_comes_from_the_device_tree() {
        assert_eq!(soc(b"radxa,rock-5b\0rockchip,rk3588\0").as_deref(), Some("rk3588"));
        assert_eq!(soc(b"raspberrypi,5-model-b\0brcm,bcm2712\0"), None);
        assert_eq!(soc(b"rockchip,rk3588-pcie\0"), None);
        assert_eq!(soc(b""), None);
    }
}
