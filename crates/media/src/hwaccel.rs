//! Video hardware found at start-up, and the ffmpeg arguments for each kind
//! of engine: V4L2 memory-to-memory (Raspberry Pi 4), Rockchip MPP
//! (RK3588, with an ffmpeg built for it), VAAPI and QSV (x86 GPUs), or
//! software. An engine is used only when both its device and ffmpeg's
//! encoder are there; a transcode that fails on hardware is redone in
//! software.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::process;
use crate::transcode::VideoCodec;

/// Immich's `accel` setting, plus the V4L2 choice Immich lacks (a
/// Raspberry Pi's encoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccelChoice {
    Disabled,
    Nvenc,
    Qsv,
    Vaapi,
    Rkmpp,
    V4l2,
}

/// The engine a transcode runs on, with the device it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accel {
    Software,
    /// A V4L2 memory-to-memory encoder (`h264_v4l2m2m`); ffmpeg finds the
    /// device. `decode` is set where a V4L2 decoder is there too.
    V4l2m2m {
        decode: bool,
    },
    Vaapi {
        device: PathBuf,
    },
    Qsv {
        device: PathBuf,
    },
    Rkmpp,
}

impl Accel {
    pub fn name(&self) -> &'static str {
        match self {
            Accel::Software => "software",
            Accel::V4l2m2m { .. } => "v4l2m2m",
            Accel::Vaapi { .. } => "vaapi",
            Accel::Qsv { .. } => "qsv",
            Accel::Rkmpp => "rkmpp",
        }
    }

    /// ffmpeg's encoder for `codec` on this engine; hardware engines make
    /// H.264 and HEVC only.
    pub fn encoder(&self, codec: VideoCodec) -> Option<String> {
        let suffix = match self {
            Accel::Software => return Some(codec.software_encoder().into()),
            Accel::V4l2m2m { .. } => "v4l2m2m",
            Accel::Vaapi { .. } => "vaapi",
            Accel::Qsv { .. } => "qsv",
            Accel::Rkmpp => "rkmpp",
        };
        matches!(codec, VideoCodec::H264 | VideoCodec::Hevc).then(|| format!("{}_{suffix}", codec.as_str()))
    }
}

/// What the machine offers for video, as probed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hardware {
    /// ffmpeg's hardware H.264/HEVC encoders (e.g. "h264_v4l2m2m").
    pub encoders: Vec<String>,
    /// V4L2 devices by name, e.g. ("/dev/video11", "bcm2835-codec-encode").
    pub v4l2_devices: Vec<(PathBuf, String)>,
    /// DRM render nodes (VAAPI, QSV).
    pub render_nodes: Vec<PathBuf>,
    /// Rockchip's MPP service device.
    pub rkmpp_device: bool,
}

const HW_ENCODERS: [&str; 8] = [
    "h264_v4l2m2m",
    "hevc_v4l2m2m",
    "h264_vaapi",
    "hevc_vaapi",
    "h264_qsv",
    "hevc_qsv",
    "h264_rkmpp",
    "hevc_rkmpp",
];

impl Hardware {
    /// Looks at the devices under `sys` and `dev` (normally "/sys" and
    /// "/dev") and asks ffmpeg which hardware encoders it was built with.
    pub fn probe(sys: &Path, dev: &Path) -> Hardware {
        let listing = process::output(
            "ffmpeg",
            &[OsStr::new("-hide_banner"), OsStr::new("-encoders")],
            Duration::from_secs(20),
            "ffmpeg",
        )
        .unwrap_or_default();
        Hardware::from_parts(&String::from_utf8_lossy(&listing), sys, dev)
    }

    fn from_parts(encoder_listing: &str, sys: &Path, dev: &Path) -> Hardware {
        let encoders = encoder_listing
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|name| HW_ENCODERS.contains(name))
            .map(str::to_owned)
            .collect();
        let mut v4l2_devices: Vec<(PathBuf, String)> = read_dir_sorted(&sys.join("class/video4linux"))
            .into_iter()
            .filter_map(|entry| {
                let name = std::fs::read_to_string(entry.join("name")).ok()?.trim().to_owned();
                let node = dev.join(entry.file_name()?);
                node.exists().then_some((node, name))
            })
            .collect();
        v4l2_devices.sort();
        let render_nodes = read_dir_sorted(&dev.join("dri"))
            .into_iter()
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("renderD")))
            .collect();
        Hardware {
            encoders,
            v4l2_devices,
            render_nodes,
            rkmpp_device: dev.join("mpp_service").exists(),
        }
    }

    fn has(&self, encoder: &str) -> bool {
        self.encoders.iter().any(|e| e == encoder)
    }

    fn v4l2(&self, role: &str) -> bool {
        self.v4l2_devices.iter().any(|(_, name)| name.contains(role))
    }

    /// The choice a box has until its admin makes one: MPP, then a V4L2
    /// encoder, then a GPU through VAAPI; software otherwise.
    pub fn default_choice(&self) -> AccelChoice {
        if self.rkmpp_device && self.has("h264_rkmpp") {
            AccelChoice::Rkmpp
        } else if self.v4l2("encode") && self.has("h264_v4l2m2m") {
            AccelChoice::V4l2
        } else if !self.render_nodes.is_empty() && self.has("h264_vaapi") {
            AccelChoice::Vaapi
        } else {
            AccelChoice::Disabled
        }
    }

    /// The engine for `choice` encoding `codec`, or why this machine cannot
    /// (the transcode then runs in software). `preferred_device` is
    /// Immich's `preferredHwDevice`: "auto" or a render node.
    pub fn accel(&self, choice: AccelChoice, codec: VideoCodec, preferred_device: &str) -> Result<Accel, String> {
        let render_node = || -> Result<PathBuf, String> {
            if preferred_device == "auto" {
                // Immich takes the last node: integrated GPUs come after discrete ones.
                return self
                    .render_nodes
                    .last()
                    .cloned()
                    .ok_or_else(|| "no /dev/dri render node was found".to_string());
            }
            let name = preferred_device.trim_start_matches("/dev/dri/");
            self.render_nodes
                .iter()
                .find(|n| n.file_name().and_then(|f| f.to_str()) == Some(name))
                .cloned()
                .ok_or_else(|| format!("the preferred device {preferred_device} does not exist"))
        };
        let accel = match choice {
            AccelChoice::Disabled => return Ok(Accel::Software),
            AccelChoice::Nvenc => return Err("NVIDIA encoders are not supported".into()),
            AccelChoice::V4l2 if self.v4l2("encode") => Accel::V4l2m2m {
                decode: self.v4l2("decode"),
            },
            AccelChoice::V4l2 => return Err("no V4L2 encoder device was found".into()),
            AccelChoice::Rkmpp if self.rkmpp_device => Accel::Rkmpp,
            AccelChoice::Rkmpp => return Err("no /dev/mpp_service device was found".into()),
            AccelChoice::Vaapi => Accel::Vaapi { device: render_node()? },
            AccelChoice::Qsv => Accel::Qsv { device: render_node()? },
        };
        let encoder = accel
            .encoder(codec)
            .ok_or_else(|| format!("{} encodes H.264 and HEVC only, not {}", accel.name(), codec.as_str()))?;
        if !self.has(&encoder) {
            return Err(format!("this ffmpeg has no {encoder} encoder"));
        }
        Ok(accel)
    }
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// What an engine adds to a transcode: arguments before the input, the
/// filters that hand frames to it, and its rate control.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineArgs {
    pub before_input: Vec<String>,
    /// With frames decoded on the engine: the whole filter chain (scaling
    /// there too). Otherwise what follows the software filters.
    pub filters: Vec<String>,
    pub rate: Vec<String>,
    /// Whether frames are decoded on the engine (the software filters are then skipped).
    pub decodes: bool,
}

/// How a hardware engine is asked for quality: a CRF-like number, or a bit
/// rate with its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub quality: u8,
    /// Bits per second: the target and the ceiling, when a maximum is set.
    pub bitrate: Option<(i64, i64)>,
    /// Immich's `cqMode: cqp` (constant QP rather than the engine's default).
    pub constant_qp: bool,
}

/// What the engine needs for this input. `decode` asks for decoding on the
/// engine too, which is done only when nothing must happen to the frames
/// in software first (rotation, tone mapping); `size` is the frame size
/// to scale to, if any.
pub fn engine_args(accel: &Accel, input_codec: &str, decode: bool, size: Option<(u32, u32)>, rate: Rate) -> EngineArgs {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let bitrate = |target: i64, max: i64| {
        list(&[
            "-b:v",
            &target.to_string(),
            "-maxrate",
            &max.to_string(),
            "-bufsize",
            &(2 * max).to_string(),
        ])
    };
    let q = rate.quality.to_string();
    let scaled = |filter: &str, extra: &str| match size {
        Some((w, h)) => format!("{filter}=w={w}:h={h}{extra}"),
        None => format!("{filter}={}", extra.trim_start_matches(':')),
    };
    match accel {
        Accel::Software => EngineArgs::default(),
        Accel::V4l2m2m { decode: has_decoder } => {
            let decodes = decode && *has_decoder && matches!(input_codec, "h264" | "hevc");
            EngineArgs {
                before_input: if decodes {
                    list(&["-c:v", &format!("{input_codec}_v4l2m2m")])
                } else {
                    Vec::new()
                },
                filters: Vec::new(),
                // The stateful V4L2 encoders take a bit rate, not a quality: about what CRF 23 gives at 720p.
                rate: match rate.bitrate {
                    Some((target, max)) => bitrate(target, max),
                    None => list(&["-b:v", "2500000"]),
                },
                // Decoded frames come back to memory: the software filters still run.
                decodes: false,
            }
        }
        Accel::Vaapi { device } => {
            let device = device.display().to_string();
            let rate = match rate.bitrate {
                Some((target, max)) => bitrate(target, max),
                None => list(&["-rc_mode", "CQP", "-qp", &q]),
            };
            let pipeline = Pipeline {
                decode_input: list(&["-hwaccel", "vaapi", "-hwaccel_output_format", "vaapi", "-hwaccel_device", &device]),
                scale: scaled("scale_vaapi", ":format=nv12"),
                upload_input: list(&["-vaapi_device", &device]),
                upload: list(&["format=nv12", "hwupload"]),
            };
            pipeline.args(decode, rate)
        }
        Accel::Qsv { device } => {
            let device = device.display().to_string();
            let rate = match (rate.bitrate, rate.constant_qp) {
                (Some((target, max)), _) => bitrate(target, max),
                (None, true) => list(&["-q:v", &q]),
                (None, false) => list(&["-global_quality", &q]),
            };
            let pipeline = Pipeline {
                decode_input: list(&["-hwaccel", "qsv", "-hwaccel_output_format", "qsv", "-qsv_device", &device]),
                scale: scaled("scale_qsv", ":format=nv12"),
                upload_input: list(&["-qsv_device", &device, "-init_hw_device", "qsv=hw", "-filter_hw_device", "hw"]),
                upload: list(&["format=nv12", "hwupload=extra_hw_frames=64"]),
            };
            pipeline.args(decode, rate)
        }
        Accel::Rkmpp => {
            let rate = match rate.bitrate {
                Some((target, max)) => [list(&["-rc_mode", "VBR"]), bitrate(target, max)].concat(),
                None => list(&["-rc_mode", "CQP", "-qp_init", &q]),
            };
            let pipeline = Pipeline {
                decode_input: list(&["-hwaccel", "rkmpp", "-hwaccel_output_format", "drm_prime", "-afbc", "rga"]),
                scale: scaled("scale_rkrga", ":format=nv12:afbc=1"),
                upload_input: Vec::new(),
                upload: list(&["format=nv12"]),
            };
            pipeline.args(decode, rate)
        }
    }
}

/// The two ways frames take through an engine that decodes as well as
/// encodes: decoded and scaled on it, or filtered in software and then
/// handed to it.
struct Pipeline {
    decode_input: Vec<String>,
    /// The engine's scaler, when it decodes.
    scale: String,
    upload_input: Vec<String>,
    /// After the software filters, when it does not.
    upload: Vec<String>,
}

impl Pipeline {
    fn args(self, decode: bool, rate: Vec<String>) -> EngineArgs {
        if decode {
            EngineArgs {
                before_input: self.decode_input,
                filters: vec![self.scale],
                rate,
                decodes: true,
            }
        } else {
            EngineArgs {
                before_input: self.upload_input,
                filters: self.upload,
                rate,
                decodes: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FFMPEG_ENCODERS: &str = " V....D libx264              libx264 H.264\n V..... h264_v4l2m2m         V4L2 mem2mem H.264 encoder wrapper (codec h264)\n V....D h264_vaapi           H.264/AVC (VAAPI) (codec h264)\n V....D hevc_vaapi           H.265/HEVC (VAAPI) (codec hevc)\n";

    fn tree(devices: &[(&str, &str)], dri: bool, mpp: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("dev")).unwrap();
        for (node, name) in devices {
            let class = root.path().join("sys/class/video4linux").join(node);
            std::fs::create_dir_all(&class).unwrap();
            std::fs::write(class.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(root.path().join("dev").join(node), "").unwrap();
        }
        if dri {
            std::fs::create_dir_all(root.path().join("dev/dri")).unwrap();
            std::fs::write(root.path().join("dev/dri/renderD128"), "").unwrap();
        }
        if mpp {
            std::fs::write(root.path().join("dev/mpp_service"), "").unwrap();
        }
        root
    }

    fn probe(root: &Path, encoders: &str) -> Hardware {
        Hardware::from_parts(encoders, &root.join("sys"), &root.join("dev"))
    }

    const CRF: Rate = Rate {
        quality: 23,
        bitrate: None,
        constant_qp: false,
    };

    #[test]
    fn a_raspberry_pi_4_encodes_and_decodes_with_its_v4l2_engine() {
        let root = tree(
            &[("video10", "bcm2835-codec-decode"), ("video11", "bcm2835-codec-encode")],
            false,
            false,
        );
        let hw = probe(root.path(), FFMPEG_ENCODERS);
        assert_eq!(hw.v4l2_devices.len(), 2);
        assert_eq!(hw.default_choice(), AccelChoice::V4l2);
        let accel = hw.accel(AccelChoice::V4l2, VideoCodec::H264, "auto").unwrap();
        assert_eq!(accel, Accel::V4l2m2m { decode: true });
        assert_eq!(accel.encoder(VideoCodec::H264).as_deref(), Some("h264_v4l2m2m"));
        let args = engine_args(&accel, "h264", true, None, CRF);
        assert_eq!(args.before_input, ["-c:v", "h264_v4l2m2m"], "decoded on the engine");
        assert!(!args.decodes, "frames come back to memory for the software filters");
        assert_eq!(args.rate, ["-b:v", "2500000"]);
        let capped = engine_args(
            &accel,
            "vp9",
            true,
            None,
            Rate {
                bitrate: Some((5_000_000, 8_000_000)),
                ..CRF
            },
        );
        assert!(capped.before_input.is_empty(), "the engine decodes H.264 and HEVC only");
        assert_eq!(capped.rate[..2], ["-b:v", "5000000"]);
        assert!(
            hw.accel(AccelChoice::V4l2, VideoCodec::Hevc, "auto")
                .unwrap_err()
                .contains("no hevc_v4l2m2m"),
            "the Pi 4 has no HEVC encoder"
        );
    }

    #[test]
    fn a_decoder_alone_or_an_encoder_ffmpeg_lacks_means_software_with_a_reason() {
        let root = tree(&[("video10", "bcm2835-codec-decode")], false, false);
        let hw = probe(root.path(), FFMPEG_ENCODERS);
        assert_eq!(hw.default_choice(), AccelChoice::Disabled);
        assert!(
            hw.accel(AccelChoice::V4l2, VideoCodec::H264, "auto")
                .unwrap_err()
                .contains("V4L2 encoder")
        );
        let root = tree(&[], false, true);
        let hw = probe(root.path(), FFMPEG_ENCODERS);
        assert_eq!(hw.default_choice(), AccelChoice::Disabled, "Debian's ffmpeg has no rkmpp");
        assert!(
            hw.accel(AccelChoice::Rkmpp, VideoCodec::H264, "auto")
                .unwrap_err()
                .contains("h264_rkmpp")
        );
        assert!(
            hw.accel(AccelChoice::Vaapi, VideoCodec::H264, "auto")
                .unwrap_err()
                .contains("render node")
        );
        assert_eq!(hw.accel(AccelChoice::Disabled, VideoCodec::Av1, "auto"), Ok(Accel::Software));
    }

    #[test]
    fn an_rk3588_with_ffmpeg_rockchip_uses_mpp_for_encoding_and_decoding() {
        let rockchip = format!(
            "{FFMPEG_ENCODERS} V..... h264_rkmpp           Rockchip MPP (codec h264)\n V..... hevc_rkmpp           Rockchip MPP (codec hevc)\n"
        );
        let root = tree(&[], true, true);
        let hw = probe(root.path(), &rockchip);
        assert_eq!(hw.default_choice(), AccelChoice::Rkmpp);
        let accel = hw.accel(AccelChoice::Rkmpp, VideoCodec::Hevc, "auto").unwrap();
        assert_eq!(accel.encoder(VideoCodec::Hevc).as_deref(), Some("hevc_rkmpp"));
        assert_eq!(accel.encoder(VideoCodec::Vp9), None);
        let software_decode = engine_args(&accel, "hevc", false, Some((1280, 720)), CRF);
        assert_eq!(software_decode.rate, ["-rc_mode", "CQP", "-qp_init", "23"]);
        assert_eq!(software_decode.filters, ["format=nv12"]);
        let on_engine = engine_args(&accel, "hevc", true, Some((1280, 720)), CRF);
        assert!(on_engine.decodes);
        assert_eq!(
            on_engine.before_input,
            ["-hwaccel", "rkmpp", "-hwaccel_output_format", "drm_prime", "-afbc", "rga"]
        );
        assert_eq!(on_engine.filters, ["scale_rkrga=w=1280:h=720:format=nv12:afbc=1"]);
        assert!(
            hw.accel(AccelChoice::Rkmpp, VideoCodec::Av1, "auto")
                .unwrap_err()
                .contains("H.264 and HEVC only"),
            "no AV1 encoder on the VPU"
        );
    }

    #[test]
    fn a_pc_uses_its_gpu_through_vaapi_or_qsv_on_the_device_asked_for() {
        let root = tree(&[], true, false);
        let hw = probe(root.path(), FFMPEG_ENCODERS);
        assert_eq!(hw.default_choice(), AccelChoice::Vaapi);
        let accel = hw.accel(AccelChoice::Vaapi, VideoCodec::Hevc, "renderD128").unwrap();
        let Accel::Vaapi { device } = &accel else { panic!("{accel:?}") };
        assert!(device.ends_with("dev/dri/renderD128"));
        assert!(
            hw.accel(AccelChoice::Vaapi, VideoCodec::H264, "/dev/dri/renderD129")
                .unwrap_err()
                .contains("renderD129")
        );
        let upload = engine_args(&accel, "h264", false, None, CRF);
        assert_eq!(upload.before_input[0], "-vaapi_device");
        assert_eq!(upload.filters, ["format=nv12", "hwupload"]);
        assert_eq!(upload.rate, ["-rc_mode", "CQP", "-qp", "23"]);
        let decoded = engine_args(&accel, "h264", true, Some((720, 1280)), CRF);
        assert_eq!(decoded.before_input[..4], ["-hwaccel", "vaapi", "-hwaccel_output_format", "vaapi"]);
        assert_eq!(decoded.filters, ["scale_vaapi=w=720:h=1280:format=nv12"]);
        let unscaled = engine_args(&accel, "h264", true, None, CRF);
        assert_eq!(unscaled.filters, ["scale_vaapi=format=nv12"]);

        let qsv = Accel::Qsv {
            device: "/dev/dri/renderD128".into(),
        };
        let cqp = Rate { constant_qp: true, ..CRF };
        assert_eq!(engine_args(&qsv, "h264", false, None, CRF).rate, ["-global_quality", "23"]);
        assert_eq!(engine_args(&qsv, "h264", false, None, cqp).rate, ["-q:v", "23"]);
        assert!(
            hw.accel(AccelChoice::Qsv, VideoCodec::H264, "auto")
                .unwrap_err()
                .contains("h264_qsv"),
            "this ffmpeg was listed without QSV"
        );
        assert!(hw.accel(AccelChoice::Nvenc, VideoCodec::H264, "auto").is_err());
    }

    #[test]
    fn this_machine_is_probed_for_real() {
        // Whatever it finds here, the probe must not fail, and ffmpeg has libx264-only builds too.
        let hw = Hardware::probe(Path::new("/sys"), Path::new("/dev"));
        assert!(hw.encoders.iter().all(|e| HW_ENCODERS.contains(&e.as_str())));
    }
}
