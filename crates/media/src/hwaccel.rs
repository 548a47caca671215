//! Video hardware found at start-up, and the ffmpeg arguments for each kind
//! of encoder: V4L2 memory-to-memory (Raspberry Pi 4), Rockchip MPP
//! (RK3588, with an ffmpeg built for it), VAAPI and QSV (x86 GPUs), or
//! software. A path is chosen only when both the device and ffmpeg's
//! encoder are there; a transcode that fails on hardware is redone in
//! software.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process;

/// Where H.264 encoding runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accel {
    Software,
    /// A V4L2 memory-to-memory encoder (`h264_v4l2m2m`); ffmpeg finds the device.
    V4l2m2m,
    Vaapi {
        device: PathBuf,
    },
    Qsv,
    Rkmpp,
}

impl Accel {
    pub fn name(&self) -> &'static str {
        match self {
            Accel::Software => "software",
            Accel::V4l2m2m => "v4l2m2m",
            Accel::Vaapi { .. } => "vaapi",
            Accel::Qsv => "qsv",
            Accel::Rkmpp => "rkmpp",
        }
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

    /// The best H.264 encoder present: MPP, then a V4L2 encoder, then a
    /// GPU through VAAPI; software otherwise.
    pub fn best_h264(&self) -> Accel {
        let v4l2_encoder = self.v4l2_devices.iter().any(|(_, name)| name.contains("encode"));
        if self.rkmpp_device && self.has("h264_rkmpp") {
            Accel::Rkmpp
        } else if v4l2_encoder && self.has("h264_v4l2m2m") {
            Accel::V4l2m2m
        } else if let (Some(node), true) = (self.render_nodes.first(), self.has("h264_vaapi")) {
            Accel::Vaapi { device: node.clone() }
        } else {
            Accel::Software
        }
    }
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

/// The encoder part of ffmpeg's arguments for `accel`: arguments before the
/// input, the codec and quality arguments, and the filter chain's tail
/// (frames are scaled in software, then handed to the encoder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderArgs {
    pub before_input: Vec<String>,
    pub codec: Vec<String>,
    pub filter_tail: String,
}

/// `crf` is the software quality; hardware encoders get the nearest setting they have.
pub fn h264_encoder(accel: &Accel, crf: u8, preset: &str, target_bitrate: i64) -> EncoderArgs {
    let args = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match accel {
        Accel::Software => EncoderArgs {
            before_input: Vec::new(),
            codec: args(&["-c:v", "libx264", "-preset", preset, "-crf", &crf.to_string()]),
            filter_tail: "format=yuv420p".into(),
        },
        // The stateful V4L2 encoders take a bit rate, not a quality.
        Accel::V4l2m2m => EncoderArgs {
            before_input: Vec::new(),
            codec: args(&["-c:v", "h264_v4l2m2m", "-b:v", &target_bitrate.to_string()]),
            filter_tail: "format=yuv420p".into(),
        },
        Accel::Vaapi { device } => EncoderArgs {
            before_input: args(&["-vaapi_device", &device.display().to_string()]),
            codec: args(&["-c:v", "h264_vaapi", "-qp", &crf.to_string()]),
            filter_tail: "format=nv12,hwupload".into(),
        },
        Accel::Qsv => EncoderArgs {
            before_input: args(&["-init_hw_device", "qsv=hw", "-filter_hw_device", "hw"]),
            codec: args(&["-c:v", "h264_qsv", "-global_quality", &crf.to_string()]),
            filter_tail: "format=nv12,hwupload=extra_hw_frames=64".into(),
        },
        Accel::Rkmpp => EncoderArgs {
            before_input: Vec::new(),
            codec: args(&["-c:v", "h264_rkmpp", "-rc_mode", "CQP", "-qp_init", &crf.to_string()]),
            filter_tail: "format=nv12".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FFMPEG_ENCODERS: &str = " V....D libx264              libx264 H.264\n V..... h264_v4l2m2m         V4L2 mem2mem H.264 encoder wrapper (codec h264)\n V....D h264_vaapi           H.264/AVC (VAAPI) (codec h264)\n";

    fn tree(devices: &[(&str, &str)], dri: bool, mpp: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (node, name) in devices {
            let class = root.path().join("sys/class/video4linux").join(node);
            std::fs::create_dir_all(&class).unwrap();
            std::fs::write(class.join("name"), format!("{name}\n")).unwrap();
            std::fs::create_dir_all(root.path().join("dev")).unwrap();
            std::fs::write(root.path().join("dev").join(node), "").unwrap();
        }
        if dri {
            std::fs::create_dir_all(root.path().join("dev/dri")).unwrap();
            std::fs::write(root.path().join("dev/dri/renderD128"), "").unwrap();
        }
        if mpp {
            std::fs::create_dir_all(root.path().join("dev")).unwrap();
            std::fs::write(root.path().join("dev/mpp_service"), "").unwrap();
        }
        root
    }

    fn probe(root: &Path, encoders: &str) -> Hardware {
        Hardware::from_parts(encoders, &root.join("sys"), &root.join("dev"))
    }

    #[test]
    fn a_raspberry_pi_4_encodes_with_its_v4l2_encoder() {
        let root = tree(
            &[("video10", "bcm2835-codec-decode"), ("video11", "bcm2835-codec-encode")],
            false,
            false,
        );
        let hw = probe(root.path(), FFMPEG_ENCODERS);
        assert_eq!(hw.v4l2_devices.len(), 2);
        assert_eq!(hw.best_h264(), Accel::V4l2m2m);
        let args = h264_encoder(&hw.best_h264(), 23, "ultrafast", 2_000_000);
        assert_eq!(args.codec, ["-c:v", "h264_v4l2m2m", "-b:v", "2000000"]);
    }

    #[test]
    fn a_decoder_alone_or_an_encoder_ffmpeg_lacks_means_software() {
        let root = tree(&[("video10", "bcm2835-codec-decode")], false, false);
        assert_eq!(probe(root.path(), FFMPEG_ENCODERS).best_h264(), Accel::Software);
        let root = tree(&[], false, true);
        assert_eq!(
            probe(root.path(), FFMPEG_ENCODERS).best_h264(),
            Accel::Software,
            "Debian's ffmpeg has no rkmpp"
        );
    }

    #[test]
    fn an_rk3588_with_ffmpeg_rockchip_uses_mpp_and_a_pc_its_gpu() {
        let rockchip = format!("{FFMPEG_ENCODERS} V..... h264_rkmpp           Rockchip MPP (codec h264)\n");
        let root = tree(&[], true, true);
        let hw = probe(root.path(), &rockchip);
        assert_eq!(hw.best_h264(), Accel::Rkmpp);
        assert_eq!(
            h264_encoder(&Accel::Rkmpp, 23, "", 0).codec,
            ["-c:v", "h264_rkmpp", "-rc_mode", "CQP", "-qp_init", "23"]
        );
        let root = tree(&[], true, false);
        let accel = probe(root.path(), FFMPEG_ENCODERS).best_h264();
        assert_eq!(accel.name(), "vaapi");
        let args = h264_encoder(&accel, 23, "", 0);
        assert_eq!(args.before_input[0], "-vaapi_device");
        assert!(args.before_input[1].ends_with("dev/dri/renderD128"));
        assert_eq!(args.filter_tail, "format=nv12,hwupload");
    }

    #[test]
    fn this_machine_is_probed_for_real() {
        // Whatever it finds here, the probe must not fail, and ffmpeg has libx264-only builds too.
        let hw = Hardware::probe(Path::new("/sys"), Path::new("/dev"));
        assert!(hw.encoders.iter().all(|e| HW_ENCODERS.contains(&e.as_str())));
    }
}
