//! A video's playback copy: Immich's transcode settings
//! (`SystemConfigFFmpegDto`, with the V4L2 engine Immich lacks), whether a
//! video needs a copy, the ffmpeg command for each engine and codec, and
//! running it with progress through a partial file renamed into place.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hwaccel::{self, Accel, AccelChoice, Rate};
use crate::video::VideoInfo;
use crate::{Error, Result, process};

/// When a video gets a playback copy (Immich's `transcode` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TranscodePolicy {
    /// Every video.
    All,
    /// When codec, container or audio is not accepted, or the frame is larger than the target.
    Optimal,
    /// As `Required`, or when the bit rate is above the maximum.
    Bitrate,
    /// Only when codec, container or audio is not accepted.
    Required,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    H264,
    Hevc,
    Vp9,
    Av1,
}

impl VideoCodec {
    /// ffprobe's name for it, and Immich's.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Hevc => "hevc",
            VideoCodec::Vp9 => "vp9",
            VideoCodec::Av1 => "av1",
        }
    }

    pub fn software_encoder(self) -> &'static str {
        match self {
            VideoCodec::H264 => "libx264",
            VideoCodec::Hevc => "libx265",
            VideoCodec::Vp9 => "libvpx-vp9",
            VideoCodec::Av1 => "libsvtav1",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    Mp3,
    Aac,
    Opus,
    #[serde(rename = "pcm_s16le")]
    PcmS16le,
}

impl AudioCodec {
    fn as_str(self) -> &'static str {
        match self {
            AudioCodec::Mp3 => "mp3",
            AudioCodec::Aac => "aac",
            AudioCodec::Opus => "opus",
            AudioCodec::PcmS16le => "pcm_s16le",
        }
    }

    /// The encoder that writes it into MP4; PCM has no place there.
    fn mp4_encoder(self) -> Option<&'static str> {
        match self {
            AudioCodec::Mp3 => Some("libmp3lame"),
            AudioCodec::Aac => Some("aac"),
            AudioCodec::Opus => Some("libopus"),
            AudioCodec::PcmS16le => None,
        }
    }
}

/// Containers, as in ffprobe's format names ("mov" and "mp4" both cover
/// the MP4 family, "webm" covers Matroska).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    Mov,
    Mp4,
    Ogg,
    Webm,
}

impl Container {
    fn as_str(self) -> &'static str {
        match self {
            Container::Mov => "mov",
            Container::Mp4 => "mp4",
            Container::Ogg => "ogg",
            Container::Webm => "webm",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToneMapping {
    Hable,
    Mobius,
    Reinhard,
    Disabled,
}

impl ToneMapping {
    /// ffmpeg's `tonemap` filter's name for the curve.
    fn as_str(self) -> &'static str {
        match self {
            ToneMapping::Hable => "hable",
            ToneMapping::Mobius => "mobius",
            ToneMapping::Reinhard => "reinhard",
            ToneMapping::Disabled => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CqMode {
    Auto,
    Cqp,
    Icq,
}

/// x264's presets, slowest first; VP9 and AV1 speeds are read off the same list, as Immich does.
const PRESETS: [&str; 9] = [
    "veryslow",
    "slower",
    "slow",
    "medium",
    "fast",
    "faster",
    "veryfast",
    "superfast",
    "ultrafast",
];

/// Immich's `SystemConfigFFmpegDto`, field for field, with its defaults;
/// `accel` also takes `v4l2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TranscodeSettings {
    pub transcode: TranscodePolicy,
    pub target_video_codec: VideoCodec,
    pub target_audio_codec: AudioCodec,
    /// Codecs the clients play as they are.
    pub accepted_video_codecs: Vec<VideoCodec>,
    pub accepted_audio_codecs: Vec<AudioCodec>,
    pub accepted_containers: Vec<Container>,
    /// Shorter side of the copy in pixels ("720"), or "original".
    pub target_resolution: String,
    pub crf: u8,
    pub preset: String,
    /// "0" for no limit, else a number with an optional unit: "8000k", "8M" (kilobits when bare).
    pub max_bitrate: String,
    /// Encoder threads; 0 lets ffmpeg choose.
    pub threads: u32,
    /// Two-pass encoding to the bit rate, in software.
    pub two_pass: bool,
    /// How HDR video is brought to SDR.
    pub tonemap: ToneMapping,
    /// Where encoding runs; a transcode that fails there is redone in software.
    pub accel: AccelChoice,
    /// Decode on the engine too.
    pub accel_decode: bool,
    /// "auto", or the render node for VAAPI and QSV.
    pub preferred_hw_device: String,
    /// B-frames; -1 leaves the encoder's default.
    pub bframes: i32,
    /// Reference frames; 0 leaves the encoder's default.
    pub refs: u32,
    /// Keyframe interval in frames; 0 leaves the encoder's default (256 on hardware).
    pub gop_size: u32,
    pub cq_mode: CqMode,
    /// NVENC's temporal adaptive quantisation: kept for Immich's clients,
    /// no engine Shoebox drives has it.
    #[serde(rename = "temporalAQ")]
    pub temporal_aq: bool,
}

impl Default for TranscodeSettings {
    fn default() -> Self {
        TranscodeSettings {
            transcode: TranscodePolicy::Required,
            target_video_codec: VideoCodec::H264,
            target_audio_codec: AudioCodec::Aac,
            accepted_video_codecs: vec![VideoCodec::H264],
            accepted_audio_codecs: vec![AudioCodec::Aac, AudioCodec::Mp3, AudioCodec::Opus, AudioCodec::PcmS16le],
            accepted_containers: vec![Container::Mov, Container::Ogg, Container::Webm],
            target_resolution: "720".into(),
            crf: 23,
            preset: "ultrafast".into(),
            max_bitrate: "0".into(),
            threads: 0,
            two_pass: false,
            tonemap: ToneMapping::Hable,
            accel: AccelChoice::Disabled,
            accel_decode: false,
            preferred_hw_device: "auto".into(),
            bframes: -1,
            refs: 0,
            gop_size: 0,
            cq_mode: CqMode::Auto,
            temporal_aq: false,
        }
    }
}

/// The frame a copy is scaled to: shorter side and whether it stands upright.
struct Target {
    short: u32,
    portrait: bool,
    /// Long side, even, keeping the aspect ratio.
    long: u32,
}

impl TranscodeSettings {
    /// Why these settings cannot be used, if they cannot; the message says what to change.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.crf > 51 {
            return Err("crf must be between 0 and 51".into());
        }
        if !PRESETS.contains(&self.preset.as_str()) {
            return Err(format!("preset must be one of {}", PRESETS.join(", ")));
        }
        if self.target_resolution != "original" && !self.target_resolution.parse::<u32>().is_ok_and(|r| (144..=4320).contains(&r)) {
            return Err("targetResolution must be \"original\" or a number of pixels from 144 to 4320, e.g. \"720\"".into());
        }
        if parse_bitrate(&self.max_bitrate).is_none() {
            return Err("maxBitrate must be 0 or a number with an optional k or M, e.g. \"8M\"".into());
        }
        if self.target_audio_codec.mp4_encoder().is_none() {
            return Err("targetAudioCodec cannot be PCM: the copy is an MP4 file; choose aac, mp3 or opus".into());
        }
        if self.two_pass && self.target_video_codec == VideoCodec::Av1 {
            return Err("two-pass encoding is not available for AV1 with this ffmpeg: turn twoPass off or choose another codec".into());
        }
        if !(-1..=16).contains(&self.bframes) || self.refs > 6 {
            return Err("bframes must be from -1 to 16 and refs from 0 to 6".into());
        }
        if self.accel == AccelChoice::Nvenc {
            return Err("NVIDIA encoders are not supported: choose disabled, v4l2, vaapi, qsv or rkmpp".into());
        }
        if self.accepted_video_codecs.is_empty() || self.accepted_containers.is_empty() {
            return Err("acceptedVideoCodecs and acceptedContainers need at least one entry each".into());
        }
        Ok(())
    }

    /// The maximum bit rate in bits per second, if there is one.
    fn max_bitrate_bps(&self) -> Option<i64> {
        parse_bitrate(&self.max_bitrate).filter(|&b| b > 0)
    }

    fn playable(&self, info: &VideoInfo) -> bool {
        self.accepted_video_codecs.iter().any(|c| c.as_str() == info.video_codec)
            && info
                .audio_codec
                .as_deref()
                .is_none_or(|a| self.accepted_audio_codecs.iter().any(|c| c.as_str() == a))
            && info
                .container
                .split(',')
                .any(|c| self.accepted_containers.iter().any(|a| a.as_str() == c))
    }

    fn target(&self, info: &VideoInfo) -> Option<Target> {
        let (w, h) = info.metadata.width.zip(info.metadata.height)?;
        let (w, h) = (u32::try_from(w).ok()?, u32::try_from(h).ok()?);
        let short = w.min(h);
        let wanted = self.target_resolution.parse::<u32>().map_or(short, |t| t.min(short)) & !1;
        let long = ((f64::from(w.max(h)) * f64::from(wanted) / f64::from(short.max(1))).round() as u32) & !1;
        Some(Target {
            short: wanted,
            portrait: w < h,
            long,
        })
    }

    /// Scaling is needed for a frame larger than the target, or with odd sides (encoders want even ones).
    fn scale(&self, info: &VideoInfo) -> Option<Target> {
        let target = self.target(info)?;
        let (w, h) = info.metadata.width.zip(info.metadata.height)?;
        let larger = w.min(h) > i64::from(target.short);
        (larger || w % 2 != 0 || h % 2 != 0).then_some(target)
    }

    /// Whether the video gets a playback copy.
    pub fn needs_transcode(&self, info: &VideoInfo) -> bool {
        match self.transcode {
            TranscodePolicy::All => true,
            TranscodePolicy::Disabled => false,
            TranscodePolicy::Required => !self.playable(info),
            TranscodePolicy::Optimal => {
                !self.playable(info)
                    || self
                        .target(info)
                        .zip(info.metadata.width.zip(info.metadata.height))
                        .is_some_and(|(t, (w, h))| w.min(h) > i64::from(t.short))
            }
            TranscodePolicy::Bitrate => !self.playable(info) || self.max_bitrate_bps().zip(info.bit_rate).is_some_and(|(max, b)| b > max),
        }
    }

    fn tone_maps(&self, info: &VideoInfo) -> bool {
        self.tonemap != ToneMapping::Disabled && info.is_hdr()
    }

    /// Two passes to the bit rate, in software only: H.264 and HEVC need a
    /// maximum to aim at, VP9 aims at it or at its quality.
    fn two_passes(&self, accel: &Accel) -> bool {
        self.two_pass
            && *accel == Accel::Software
            && match self.target_video_codec {
                VideoCodec::Vp9 => true,
                VideoCodec::H264 | VideoCodec::Hevc => self.max_bitrate_bps().is_some(),
                VideoCodec::Av1 => false,
            }
    }

    /// ffmpeg's arguments for each pass (one, or two for two-pass), from the
    /// input to `output`, on `accel`. H.264 by default, in MP4, scaled down
    /// to the target, HDR brought to SDR, streaming-friendly. ffmpeg turns
    /// frames upright before the filters, so scaling follows the displayed
    /// orientation.
    pub fn commands(&self, info: &VideoInfo, accel: &Accel, input: &Path, output: &Path) -> Vec<Vec<OsString>> {
        let codec = self.target_video_codec;
        let bitrate = self
            .max_bitrate_bps()
            .map(|max| (max * 100 + 144) / 145)
            .zip(self.max_bitrate_bps());
        let scale = self.scale(info);
        let size = scale
            .as_ref()
            .map(|t| if t.portrait { (t.short, t.long) } else { (t.long, t.short) });
        let on_engine = self.accel_decode && info.rotation == 0 && !self.tone_maps(info);
        let engine = hwaccel::engine_args(
            accel,
            &info.video_codec,
            on_engine,
            size,
            Rate {
                quality: self.crf,
                bitrate,
                constant_qp: self.cq_mode == CqMode::Cqp,
            },
        );

        let mut video: Vec<String> = ["-map", "0:V:0", "-map_metadata", "-1"].map(String::from).to_vec();
        let filters = if engine.decodes {
            engine.filters
        } else {
            let mut filters = Vec::new();
            if let Some(t) = &scale {
                filters.push(if t.portrait {
                    format!("scale={}:-2", t.short)
                } else {
                    format!("scale=-2:{}", t.short)
                });
            }
            if self.tone_maps(info) {
                // Debian's ffmpeg has zscale and tonemap (Immich's tonemapx is jellyfin-ffmpeg's own).
                video.extend(["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"].map(String::from));
                filters.push(format!(
                    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap={}:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p",
                    self.tonemap.as_str()
                ));
            } else if info.pixel_format.as_deref() != Some("yuv420p") {
                filters.push("format=yuv420p".into());
            }
            filters.extend(engine.filters);
            filters
        };
        if !filters.is_empty() {
            video.extend(["-vf".into(), filters.join(",")]);
        }
        let encoder = accel.encoder(codec).unwrap_or_else(|| codec.software_encoder().into());
        video.extend(["-c:v".into(), encoder]);
        let gop = if self.gop_size == 0 && *accel != Accel::Software {
            256
        } else {
            self.gop_size
        };
        if self.bframes >= 0 {
            video.extend(["-bf".into(), self.bframes.to_string()]);
        }
        if self.refs > 0 {
            video.extend(["-refs".into(), self.refs.to_string()]);
        }
        if gop > 0 {
            video.extend(["-g".into(), gop.to_string()]);
        }
        if codec == VideoCodec::Hevc {
            // Apple's players want HEVC tagged hvc1.
            video.extend(["-tag:v".into(), "hvc1".into()]);
        }
        let passes = if self.two_passes(accel) { 2 } else { 1 };
        let passlog = output.with_extension("passlog");

        let audio_copy = info.audio_codec.as_deref().is_some_and(|a| {
            self.accepted_audio_codecs
                .iter()
                .any(|c| c.as_str() == a && c.mp4_encoder().is_some())
        });
        let audio_encoder = self.target_audio_codec.mp4_encoder().unwrap_or("aac");
        let container: Vec<String> = ["-movflags", "+faststart", "-fps_mode", "passthrough", "-f", "mp4"]
            .map(String::from)
            .to_vec();

        (1..=passes)
            .map(|pass| {
                let mut args: Vec<OsString> = engine.before_input.iter().map(OsString::from).collect();
                args.extend(["-i".into(), input.into()]);
                args.extend(video.iter().map(OsString::from));
                let rate = if accel == &Accel::Software {
                    self.software_rate(bitrate, (passes == 2).then_some((pass, passlog.as_path())))
                } else {
                    engine.rate.clone()
                };
                args.extend(rate.into_iter().map(OsString::from));
                if passes == 2 && pass == 1 {
                    args.extend(["-an", "-f", "null", "/dev/null"].map(OsString::from));
                } else {
                    args.extend(["-map", "0:a:0?", "-c:a", if audio_copy { "copy" } else { audio_encoder }].map(OsString::from));
                    args.extend(container.iter().map(OsString::from));
                    args.push(output.into());
                }
                args
            })
            .collect()
    }

    /// The software encoder's speed, rate control and threads; `pass` is
    /// this pass and the statistics file of a two-pass encode.
    fn software_rate(&self, bitrate: Option<(i64, i64)>, pass: Option<(u32, &Path)>) -> Vec<String> {
        let speed = PRESETS.iter().position(|p| *p == self.preset).unwrap_or(8);
        let crf = self.crf.to_string();
        let mut args: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
        let two_pass_rate = |target: i64, max: i64| {
            [
                "-b:v".to_string(),
                target.to_string(),
                "-minrate".into(),
                (target / 2).to_string(),
                "-maxrate".into(),
                max.to_string(),
            ]
        };
        match self.target_video_codec {
            VideoCodec::H264 | VideoCodec::Hevc => {
                push(&["-preset", &self.preset]);
                match (pass, bitrate) {
                    (Some(_), Some((target, max))) => push(&two_pass_rate(target, max).each_ref().map(String::as_str)),
                    (_, Some((_, max))) => push(&["-crf", &crf, "-maxrate", &max.to_string(), "-bufsize", &(2 * max).to_string()]),
                    (_, None) => push(&["-crf", &crf]),
                }
                let mut x265 = Vec::new();
                if let Some((n, log)) = pass {
                    if self.target_video_codec == VideoCodec::H264 {
                        push(&["-pass", &n.to_string(), "-passlogfile", &log.display().to_string()]);
                    } else {
                        x265.push(format!("pass={n}:stats={}", log.display()));
                    }
                }
                if self.target_video_codec == VideoCodec::Hevc {
                    x265.push("log-level=error".into());
                    if self.threads == 1 {
                        x265.push("frame-threads=1:pools=none".into());
                    }
                    push(&["-x265-params", &x265.join(":")]);
                }
                if self.threads > 0 {
                    push(&["-threads", &self.threads.to_string()]);
                }
            }
            VideoCodec::Vp9 => {
                // Speeds above 5 need realtime mode, which overrides crf and threads.
                push(&["-cpu-used", &speed.min(5).to_string(), "-row-mt", "1"]);
                match (pass, bitrate) {
                    (Some(_), Some((target, max))) => push(&two_pass_rate(target, max).each_ref().map(String::as_str)),
                    (_, max) => push(&["-crf", &crf, "-b:v", &max.map_or(0, |(_, m)| m).to_string()]),
                }
                if let Some((n, log)) = pass {
                    push(&["-pass", &n.to_string(), "-passlogfile", &log.display().to_string()]);
                }
                if self.threads > 0 {
                    push(&["-threads", &self.threads.to_string()]);
                }
            }
            VideoCodec::Av1 => {
                // SVT-AV1's presets run 0 (slowest) to 13; Immich's list maps onto 4 to 12.
                push(&["-preset", &(speed + 4).to_string(), "-crf", &crf]);
                let mut params = Vec::new();
                if self.threads > 0 {
                    params.push(format!("lp={}", self.threads));
                }
                if let Some((_, max)) = bitrate {
                    params.push(format!("mbr={}", max / 1000));
                }
                if !params.is_empty() {
                    push(&["-svtav1-params", &params.join(":")]);
                }
            }
        }
        args
    }
}

/// "0", "8000k", "8M", "8000" (kilobits) → bits per second.
fn parse_bitrate(s: &str) -> Option<i64> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let value: i64 = digits.parse().ok()?;
    let scale = match unit {
        "" | "k" | "K" => 1_000,
        "m" | "M" => 1_000_000,
        _ => return None,
    };
    value.checked_mul(scale)
}

/// How a transcode went: the engine that made the copy, and why the
/// hardware one was given up, if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcoded {
    pub accel: Accel,
    pub fallback_reason: Option<String>,
}

/// Writes the playback copy of `original` to `output` on `accel`, or in
/// software when that fails, through a partial file renamed into place, so
/// a copy that exists is always complete. `progress` hears the fraction
/// done (0 to 1) as ffmpeg reports it.
pub fn transcode(
    original: &Path,
    output: &Path,
    info: &VideoInfo,
    settings: &TranscodeSettings,
    accel: &Accel,
    progress: &mut dyn FnMut(f64),
) -> Result<Transcoded> {
    let dir = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let partial = output.with_extension("mp4.part");
    let duration_us = info.duration_ms.unwrap_or(0).max(0) as f64 * 1000.0;
    // Software encoding on a small board runs near real time at worst; allow a wide margin.
    let timeout = Duration::from_secs(300 + 30 * (duration_us / 1e6) as u64);
    let mut attempt = |accel: &Accel| {
        let passes = settings.commands(info, accel, original, &partial);
        let count = passes.len() as f64;
        let result = passes.iter().enumerate().try_for_each(|(i, pass)| {
            let mut args: Vec<OsString> = ["-v", "error", "-y", "-nostats", "-progress", "pipe:1"].map(Into::into).to_vec();
            args.extend(pass.iter().cloned());
            let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            process::run_reading_lines("ffmpeg", &refs, timeout, "ffmpeg", &mut |line| {
                let done = line.strip_prefix("out_time_us=").and_then(|v| v.trim().parse::<f64>().ok());
                if let Some(us) = done.filter(|_| duration_us > 0.0) {
                    progress(((i as f64 + (us / duration_us).clamp(0.0, 1.0)) / count).min(1.0));
                }
            })
        });
        for leftover in passlog_files(&partial) {
            let _ = std::fs::remove_file(leftover);
        }
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    };
    let outcome = match attempt(accel) {
        Ok(()) => Transcoded {
            accel: accel.clone(),
            fallback_reason: None,
        },
        Err(e) if *accel != Accel::Software => {
            attempt(&Accel::Software)?;
            Transcoded {
                accel: Accel::Software,
                fallback_reason: Some(e.to_string()),
            }
        }
        Err(e) => return Err(e),
    };
    std::fs::rename(&partial, output).map_err(|e| Error::io(output, e))?;
    Ok(outcome)
}

/// The statistics files a two-pass encode leaves beside its output.
fn passlog_files(output: &Path) -> Vec<std::path::PathBuf> {
    let passlog = output.with_extension("passlog");
    let Some(prefix) = passlog.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    std::fs::read_dir(output.parent().unwrap_or(Path::new(".")))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Metadata;
    use crate::video::probe;

    const MP4: &str = "mov,mp4,m4a,3gp,3g2,mj2";

    fn clip(codec: &str, audio: Option<&str>, container: &str, size: (i64, i64)) -> VideoInfo {
        VideoInfo {
            metadata: Metadata {
                width: Some(size.0),
                height: Some(size.1),
                ..Metadata::default()
            },
            video_codec: codec.into(),
            audio_codec: audio.map(Into::into),
            container: container.into(),
            bit_rate: Some(20_000_000),
            pixel_format: Some("yuv420p".into()),
            ..VideoInfo::default()
        }
    }

    fn with(change: impl FnOnce(&mut TranscodeSettings)) -> TranscodeSettings {
        let mut s = TranscodeSettings::default();
        change(&mut s);
        s
    }

    /// Each pass's arguments as one line.
    fn command_lines(s: &TranscodeSettings, info: &VideoInfo, accel: &Accel) -> Vec<String> {
        s.commands(info, accel, Path::new("in.mov"), Path::new("out.mp4"))
            .iter()
            .map(|args| args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "))
            .collect()
    }

    fn software(s: &TranscodeSettings, info: &VideoInfo) -> String {
        let lines = command_lines(s, info, &Accel::Software);
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines[0].clone()
    }

    #[test]
    fn only_what_clients_cannot_play_is_transcoded_by_default() {
        let s = TranscodeSettings::default();
        assert!(!s.needs_transcode(&clip("h264", Some("aac"), MP4, (1920, 1080))));
        assert!(!s.needs_transcode(&clip("h264", None, MP4, (1920, 1080))), "no audio is fine");
        assert!(s.needs_transcode(&clip("hevc", Some("aac"), MP4, (1920, 1080))));
        assert!(s.needs_transcode(&clip("h264", Some("ac3"), MP4, (640, 480))));
        assert!(
            !s.needs_transcode(&clip("h264", Some("opus"), "webm", (640, 480))),
            "webm is accepted"
        );
        assert!(
            s.needs_transcode(&clip("h264", Some("aac"), "matroska", (640, 480))),
            "Matroska is not"
        );
        assert!(s.needs_transcode(&clip("h264", Some("aac"), "avi", (640, 480))));
        let optimal = with(|s| s.transcode = TranscodePolicy::Optimal);
        assert!(optimal.needs_transcode(&clip("h264", Some("aac"), MP4, (1920, 1080))));
        assert!(!optimal.needs_transcode(&clip("h264", Some("aac"), MP4, (1280, 720))));
        let bitrate = with(|s| {
            s.transcode = TranscodePolicy::Bitrate;
            s.max_bitrate = "10M".into();
        });
        assert!(bitrate.needs_transcode(&clip("h264", Some("aac"), MP4, (640, 480))));
        let hevc_plays = with(|s| s.accepted_video_codecs = vec![VideoCodec::H264, VideoCodec::Hevc]);
        assert!(!hevc_plays.needs_transcode(&clip("hevc", Some("aac"), MP4, (1920, 1080))));
        assert!(with(|s| s.transcode = TranscodePolicy::All).needs_transcode(&clip("h264", None, MP4, (64, 64))));
        assert!(!with(|s| s.transcode = TranscodePolicy::Disabled).needs_transcode(&clip("hevc", None, "avi", (64, 64))));
    }

    #[test]
    fn software_arguments_scale_by_the_shorter_side_and_keep_playable_audio() {
        let s = TranscodeSettings::default();
        let args = software(&s, &clip("hevc", Some("aac"), "mov", (1080, 1920)));
        assert!(args.contains("-vf scale=720:-2 "), "{args}");
        assert!(
            args.contains("-c:v libx264") && args.contains("-crf 23") && args.contains("-preset ultrafast"),
            "{args}"
        );
        assert!(args.contains("-c:a copy") && args.ends_with("-f mp4 out.mp4"), "{args}");
        let args = software(&s, &clip("vp9", Some("vorbis"), "webm", (3840, 2160)));
        assert!(args.contains("scale=-2:720") && args.contains("-c:a aac"), "{args}");
        let small = software(&s, &clip("mpeg4", None, "avi", (320, 240)));
        assert!(!small.contains("scale="), "nothing is enlarged: {small}");
        let odd = software(&s, &clip("mpeg4", None, "avi", (321, 241)));
        assert!(odd.contains("scale=-2:240"), "odd sides are made even: {odd}");
        let pcm = software(&s, &clip("hevc", Some("pcm_s16le"), "mov", (640, 480)));
        assert!(pcm.contains("-c:a aac"), "PCM cannot be copied into MP4: {pcm}");
        let ten_bit = VideoInfo {
            pixel_format: Some("yuv422p10le".into()),
            ..clip("prores", None, "mov", (640, 480))
        };
        assert!(software(&s, &ten_bit).contains("-vf format=yuv420p"));
        let original = with(|s| s.target_resolution = "original".into());
        assert!(!software(&original, &clip("hevc", None, "mov", (3840, 2160))).contains("scale="));
    }

    #[test]
    fn each_target_codec_gets_its_encoder_speed_and_rate_control() {
        let info = clip("mpeg4", Some("mp2"), "avi", (1920, 1080));
        let hevc = software(
            &with(|s| {
                s.target_video_codec = VideoCodec::Hevc;
                s.threads = 1;
                s.target_audio_codec = AudioCodec::Opus;
            }),
            &info,
        );
        assert!(hevc.contains("-c:v libx265") && hevc.contains("-tag:v hvc1"), "{hevc}");
        assert!(
            hevc.contains("-x265-params log-level=error:frame-threads=1:pools=none -threads 1"),
            "{hevc}"
        );
        assert!(hevc.contains("-c:a libopus"), "{hevc}");
        let vp9 = software(
            &with(|s| {
                s.target_video_codec = VideoCodec::Vp9;
                s.preset = "medium".into();
            }),
            &info,
        );
        assert!(vp9.contains("-c:v libvpx-vp9 -cpu-used 3 -row-mt 1 -crf 23 -b:v 0"), "{vp9}");
        let av1 = software(
            &with(|s| {
                s.target_video_codec = VideoCodec::Av1;
                s.max_bitrate = "4M".into();
                s.threads = 2;
            }),
            &info,
        );
        assert!(
            av1.contains("-c:v libsvtav1 -preset 12 -crf 23 -svtav1-params lp=2:mbr=4000"),
            "{av1}"
        );
        let capped = software(
            &with(|s| {
                s.max_bitrate = "8000k".into();
                s.bframes = 2;
                s.refs = 3;
                s.gop_size = 60;
            }),
            &info,
        );
        assert!(capped.contains("-bf 2 -refs 3 -g 60"), "{capped}");
        assert!(capped.contains("-crf 23 -maxrate 8000000 -bufsize 16000000"), "{capped}");
    }

    #[test]
    fn two_pass_runs_a_statistics_pass_then_encodes_to_the_bit_rate() {
        let info = clip("hevc", Some("aac"), MP4, (1920, 1080));
        let s = with(|s| {
            s.two_pass = true;
            s.max_bitrate = "3M".into();
        });
        let passes = command_lines(&s, &info, &Accel::Software);
        assert_eq!(passes.len(), 2);
        assert!(
            passes[0].contains("-b:v 2068966 -minrate 1034483 -maxrate 3000000 -pass 1 -passlogfile out.passlog"),
            "{}",
            passes[0]
        );
        assert!(passes[0].ends_with("-an -f null /dev/null"), "{}", passes[0]);
        assert!(passes[1].contains("-pass 2") && passes[1].ends_with("out.mp4"), "{}", passes[1]);
        let uncapped = with(|s| s.two_pass = true);
        assert_eq!(
            command_lines(&uncapped, &info, &Accel::Software).len(),
            1,
            "H.264 needs a bit rate to aim at"
        );
        let hardware = command_lines(&s, &info, &Accel::V4l2m2m { decode: false });
        assert_eq!(hardware.len(), 1, "engines encode in one pass");
        let hevc = command_lines(
            &with(|s| {
                s.two_pass = true;
                s.max_bitrate = "3M".into();
                s.target_video_codec = VideoCodec::Hevc;
            }),
            &info,
            &Accel::Software,
        );
        assert!(
            hevc[0].contains("-x265-params pass=1:stats=out.passlog:log-level=error"),
            "{}",
            hevc[0]
        );
    }

    #[test]
    fn hdr_is_tone_mapped_in_software_and_decoding_on_an_engine_skips_what_needs_software() {
        let hdr = VideoInfo {
            color_transfer: Some("smpte2084".into()),
            pixel_format: Some("yuv420p10le".into()),
            ..clip("hevc", Some("aac"), MP4, (3840, 2160))
        };
        assert!(hdr.is_hdr());
        let args = software(&TranscodeSettings::default(), &hdr);
        assert!(args.contains("-vf scale=-2:720,zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"), "{args}");
        assert!(args.contains("-color_trc bt709"), "{args}");
        let untouched = software(&with(|s| s.tonemap = ToneMapping::Disabled), &hdr);
        assert!(
            !untouched.contains("tonemap") && untouched.contains("format=yuv420p"),
            "{untouched}"
        );

        let vaapi = Accel::Vaapi {
            device: "/dev/dri/renderD128".into(),
        };
        let decode = with(|s| s.accel_decode = true);
        let sdr = clip("hevc", Some("aac"), MP4, (3840, 2160));
        let on_engine = &command_lines(&decode, &sdr, &vaapi)[0];
        assert!(on_engine.starts_with("-hwaccel vaapi"), "{on_engine}");
        assert!(
            on_engine.contains("-vf scale_vaapi=w=1280:h=720:format=nv12 -c:v h264_vaapi"),
            "{on_engine}"
        );
        assert!(on_engine.contains("-g 256"), "engines get Immich's keyframe interval: {on_engine}");
        let tone_mapped = &command_lines(&decode, &hdr, &vaapi)[0];
        assert!(
            tone_mapped.starts_with("-vaapi_device"),
            "HDR is decoded in software: {tone_mapped}"
        );
        assert!(tone_mapped.contains("format=yuv420p,format=nv12,hwupload"), "{tone_mapped}");
        let rotated = VideoInfo { rotation: 90, ..sdr };
        assert!(
            command_lines(&decode, &rotated, &vaapi)[0].starts_with("-vaapi_device"),
            "rotation is done in software"
        );
    }

    #[test]
    fn settings_are_immichs_names_and_bad_ones_are_refused_with_what_to_change() {
        let json = serde_json::to_value(TranscodeSettings::default()).unwrap();
        assert_eq!(json["accel"], "disabled");
        assert_eq!(json["temporalAQ"], false);
        assert_eq!(json["acceptedAudioCodecs"], serde_json::json!(["aac", "mp3", "opus", "pcm_s16le"]));
        assert_eq!(json["targetResolution"], "720");
        let back: TranscodeSettings = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, TranscodeSettings::default());
        let mut pi = json.clone();
        pi["accel"] = "v4l2".into();
        assert_eq!(serde_json::from_value::<TranscodeSettings>(pi).unwrap().accel, AccelChoice::V4l2);
        let mut typo = json;
        typo["crff"] = 20.into();
        assert!(
            serde_json::from_value::<TranscodeSettings>(typo)
                .unwrap_err()
                .to_string()
                .contains("crff")
        );
        assert!(TranscodeSettings::default().check().is_ok());
        let refused = |change: fn(&mut TranscodeSettings)| with(change).check().unwrap_err();
        assert!(refused(|s| s.crf = 52).contains("crf"));
        assert!(refused(|s| s.preset = "quick".into()).contains("veryslow"));
        assert!(refused(|s| s.target_resolution = "huge".into()).contains("original"));
        assert!(refused(|s| s.max_bitrate = "8 Mbit".into()).contains("maxBitrate"));
        assert!(refused(|s| s.target_audio_codec = AudioCodec::PcmS16le).contains("aac, mp3 or opus"));
        assert!(refused(|s| s.accel = AccelChoice::Nvenc).contains("v4l2"));
        assert!(
            refused(|s| {
                s.two_pass = true;
                s.target_video_codec = VideoCodec::Av1;
            })
            .contains("twoPass")
        );
        assert_eq!(parse_bitrate("8M"), Some(8_000_000));
        assert_eq!(parse_bitrate("2500"), Some(2_500_000));
        assert_eq!(parse_bitrate("0"), Some(0));
    }

    /// A clip made by Debian's ffmpeg in `dir`.
    fn make(dir: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
        let path = dir.join(name);
        let made = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10"])
            .args(args)
            .arg(&path)
            .status()
            .expect("ffmpeg is missing: run ci/install-test-deps.sh");
        assert!(made.success(), "ffmpeg {args:?}");
        path
    }

    #[test]
    fn every_target_codec_and_two_pass_make_a_playable_copy_and_report_progress() {
        let dir = tempfile::tempdir().unwrap();
        let input = make(dir.path(), "in.mkv", &["-c:v", "mpeg4"]);
        let info = probe(&input).unwrap();
        for (codec, two_pass) in [
            (VideoCodec::H264, true),
            (VideoCodec::Hevc, true),
            (VideoCodec::Vp9, false),
            (VideoCodec::Av1, false),
        ] {
            let settings = with(|s| {
                s.target_video_codec = codec;
                s.two_pass = two_pass;
                s.max_bitrate = "500k".into();
            });
            let output = dir.path().join(format!("{}.mp4", codec.as_str()));
            let mut seen = Vec::new();
            let done = transcode(&input, &output, &info, &settings, &Accel::Software, &mut |p| seen.push(p)).unwrap();
            assert_eq!(done.accel, Accel::Software);
            assert_eq!(probe(&output).unwrap().video_codec, codec.as_str());
            assert!(
                !seen.is_empty() && seen.iter().all(|p| (0.0..=1.0).contains(p)),
                "{codec:?}: {seen:?}"
            );
            assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {seen:?}");
            let leftovers: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("passlog") || n.ends_with(".part"))
                .collect();
            assert!(leftovers.is_empty(), "{codec:?} left {leftovers:?}");
        }
    }

    #[test]
    fn hdr_video_becomes_sdr_bt709() {
        let dir = tempfile::tempdir().unwrap();
        let input = make(
            dir.path(),
            "hdr.mp4",
            &[
                "-pix_fmt",
                "yuv420p10le",
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
                "-color_primaries",
                "bt2020",
                "-color_trc",
                "smpte2084",
                "-colorspace",
                "bt2020nc",
            ],
        );
        let info = probe(&input).unwrap();
        assert!(info.is_hdr(), "{info:?}");
        let output = dir.path().join("sdr.mp4");
        transcode(&input, &output, &info, &TranscodeSettings::default(), &Accel::Software, &mut |_| {}).unwrap();
        let copy = probe(&output).unwrap();
        assert_eq!(
            (
                copy.video_codec.as_str(),
                copy.pixel_format.as_deref(),
                copy.color_transfer.as_deref()
            ),
            ("h264", Some("yuv420p"), Some("bt709"))
        );
    }

    #[test]
    fn a_failing_hardware_encoder_falls_back_to_software() {
        let dir = tempfile::tempdir().unwrap();
        let input = make(dir.path(), "in.mkv", &["-c:v", "mpeg4"]);
        let info = probe(&input).unwrap();
        // This machine has no VAAPI device at this path, so the hardware attempt fails for real.
        let accel = Accel::Vaapi {
            device: "/nonexistent/renderD128".into(),
        };
        let output = dir.path().join("out.mp4");
        let done = transcode(&input, &output, &info, &TranscodeSettings::default(), &accel, &mut |_| {}).unwrap();
        assert_eq!(done.accel, Accel::Software);
        assert!(done.fallback_reason.unwrap().contains("ffmpeg"));
        assert_eq!(probe(&output).unwrap().video_codec, "h264");
        assert!(!output.with_extension("mp4.part").exists());
    }
}
