//! Videos through Debian's ffmpeg: what ffprobe says about a file
//! (duration, codecs, frame size and rotation, capture time, place,
//! camera), and a poster frame for the thumbnail pipeline.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::hwaccel::{self, Accel};
use crate::metadata::{CaptureTime, Metadata};
use crate::{Error, Result, process};

/// A damaged file can make ffprobe search for a long time; a healthy one answers at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// Decoding up to the poster frame of a 4K HEVC clip in software on a Raspberry Pi.
const POSTER_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoInfo {
    /// Camera, place, capture time, and the displayed frame size (rotation applied).
    pub metadata: Metadata,
    pub duration_ms: Option<i64>,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    /// ffprobe's format name, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
    pub container: String,
    pub frame_rate: Option<f64>,
    pub bit_rate: Option<i64>,
    /// Clockwise degrees the frames are turned for display: 0, 90, 180 or 270.
    pub rotation: u16,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize, Default)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    avg_frame_rate: Option<String>,
    bit_rate: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    side_data_list: Vec<SideData>,
    #[serde(default)]
    disposition: Disposition,
}

#[derive(Deserialize, Default)]
struct Disposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

#[derive(Deserialize)]
struct Format {
    format_name: Option<String>,
    duration: Option<String>,
    bit_rate: Option<String>,
    #[serde(default)]
    tags: Tags,
}

type Tags = std::collections::HashMap<String, String>;

/// Reads a video's properties. A file with no video stream, or one ffprobe
/// cannot open, is an error for that file.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    let args = [
        OsStr::new("-v"),
        OsStr::new("error"),
        OsStr::new("-print_format"),
        OsStr::new("json"),
        OsStr::new("-show_format"),
        OsStr::new("-show_streams"),
        path.as_os_str(),
    ];
    let json = process::output("ffprobe", &args, PROBE_TIMEOUT, "ffmpeg")?;
    parse(&json)
}

fn parse(json: &[u8]) -> Result<VideoInfo> {
    let probe: Probe = serde_json::from_slice(json).map_err(|e| Error::Metadata(format!("ffprobe gave unreadable output: {e}")))?;
    let video = probe
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && s.disposition.attached_pic == 0)
        .ok_or_else(|| Error::Metadata("the file has no video stream: it is not a playable video".into()))?;
    let audio = probe.streams.iter().find(|s| s.codec_type.as_deref() == Some("audio"));
    let format = probe.format.unwrap_or(Format {
        format_name: None,
        duration: None,
        bit_rate: None,
        tags: Tags::new(),
    });
    let tag = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| format.tags.get(*n).or_else(|| video.tags.get(*n)))
            .cloned()
    };

    let rotation = rotation(video);
    let (w, h) = (video.width, video.height);
    let (width, height) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
    let seconds = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
    };
    let duration_ms = seconds(&format.duration)
        .or_else(|| seconds(&video.duration))
        .map(|s| (s * 1000.0).round() as i64);
    let location = tag(&["com.apple.quicktime.location.ISO6709", "location"]).and_then(|l| iso6709(&l));
    let metadata = Metadata {
        make: tag(&["com.apple.quicktime.make", "com.android.manufacturer", "make"]),
        model: tag(&["com.apple.quicktime.model", "com.android.model", "model"]),
        latitude: location.map(|l| l.0),
        longitude: location.map(|l| l.1),
        width,
        height,
        taken: capture_time(&tag(&["com.apple.quicktime.creationdate"]), &tag(&["creation_time"])),
        ..Metadata::default()
    };
    Ok(VideoInfo {
        metadata,
        duration_ms,
        video_codec: video.codec_name.clone().unwrap_or_default(),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
        container: format.format_name.clone().unwrap_or_default(),
        frame_rate: video.avg_frame_rate.as_deref().and_then(fraction),
        bit_rate: format
            .bit_rate
            .as_deref()
            .or(video.bit_rate.as_deref())
            .and_then(|b| b.parse().ok()),
        rotation,
    })
}

/// The display rotation: the display matrix (side data, counter-clockwise
/// degrees) in newer files, the `rotate` tag (clockwise) in older ones.
fn rotation(video: &Stream) -> u16 {
    let degrees = video
        .side_data_list
        .iter()
        .find_map(|d| d.rotation)
        .map(|r| -r)
        .or_else(|| video.tags.get("rotate").and_then(|r| r.parse::<f64>().ok()))
        .unwrap_or(0.0);
    ((degrees.round() as i64).rem_euclid(360) / 90 * 90) as u16
}

/// "30000/1001" → 29.97; "0/0" (unknown) → None.
fn fraction(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d > 0.0 && n > 0.0).then(|| n / d)
}

/// Apple's creation date carries the wall clock and its offset
/// ("2023-05-06T07:08:09+0200"); the generic `creation_time` is the UTC
/// instant only, so its wall clock is taken as UTC, as for photos.
fn capture_time(apple: &Option<String>, generic: &Option<String>) -> Option<CaptureTime> {
    if let Some(t) = apple
        .as_deref()
        .and_then(|s| DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z").ok())
    {
        let offset = t.offset().local_minus_utc();
        return Some(CaptureTime {
            local_millis: t.naive_local().and_utc().timestamp_millis(),
            utc_millis: Some(t.timestamp_millis()),
            offset_seconds: Some(offset),
        });
    }
    let t = DateTime::parse_from_rfc3339(generic.as_deref()?).ok()?;
    // Cameras without a clock write 1904-01-01 or 1970-01-01: no date at all.
    (t.timestamp() > 86_400).then(|| CaptureTime {
        local_millis: t.timestamp_millis(),
        utc_millis: Some(t.timestamp_millis()),
        offset_seconds: None,
    })
}

/// ISO 6709 ("+48.8577+002.2950+035.000/") → (latitude, longitude).
fn iso6709(s: &str) -> Option<(f64, f64)> {
    let s = s.trim_end_matches('/');
    let split = |s: &str| s[1..].find(['+', '-']).map(|i| i + 1);
    let lat_end = split(s)?;
    let (lat, rest) = s.split_at(lat_end);
    let lon = &rest[..split(rest).unwrap_or(rest.len())];
    let (lat, lon): (f64, f64) = (lat.parse().ok()?, lon.parse().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// Writes a representative frame of the video as PNG, upright: from a
/// tenth of the way in (skipping fades from black), the frame ffmpeg's
/// `thumbnail` filter finds most typical of the next few dozen.
pub fn poster(original: &Path, duration_ms: Option<i64>, png: &Path) -> Result<()> {
    let seek = duration_ms.filter(|&d| d >= 3000).map_or(0.0, |d| (d as f64 / 10_000.0).min(10.0));
    let seek = format!("{seek:.3}");
    if let Some(dir) = png.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let args = [
        OsStr::new("-v"),
        OsStr::new("error"),
        OsStr::new("-y"),
        OsStr::new("-ss"),
        OsStr::new(&seek),
        OsStr::new("-i"),
        original.as_os_str(),
        OsStr::new("-map"),
        OsStr::new("0:V:0"),
        OsStr::new("-vf"),
        OsStr::new("thumbnail=30"),
        OsStr::new("-frames:v"),
        OsStr::new("1"),
        OsStr::new("-update"),
        OsStr::new("1"),
        png.as_os_str(),
    ];
    process::run("ffmpeg", &args, POSTER_TIMEOUT, "ffmpeg")?;
    if !png.exists() {
        return Err(Error::Decode("ffmpeg found no frame to make a poster from".into()));
    }
    Ok(())
}

/// When a video gets a playback copy (Immich's `transcode` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscodePolicy {
    /// Every video.
    All,
    /// When codec, container or audio is not accepted, or the frame is larger than the target.
    Optimal,
    /// Only when codec, container or audio is not accepted.
    Required,
    /// As `Required`, or when the bit rate is above the maximum.
    Bitrate,
    Disabled,
}

/// The video settings of Immich's `SystemConfigFFmpegDto` the software path
/// uses, with Immich's defaults.
#[derive(Debug, Clone)]
pub struct TranscodeSettings {
    pub policy: TranscodePolicy,
    /// ffprobe codec names the clients play as they are.
    pub accepted_video_codecs: Vec<String>,
    pub accepted_audio_codecs: Vec<String>,
    /// Containers, as in ffprobe's format names ("mov" covers MP4).
    pub accepted_containers: Vec<String>,
    /// Shorter side of the copy, in pixels; larger frames are scaled down.
    pub target_resolution: u32,
    pub crf: u8,
    pub preset: String,
    /// Bits per second; `None` for no limit.
    pub max_bitrate: Option<i64>,
    /// Encoder threads; 0 lets ffmpeg choose.
    pub threads: u32,
    /// Where encoding runs; falls back to software when it fails.
    pub accel: Accel,
}

impl Default for TranscodeSettings {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        TranscodeSettings {
            policy: TranscodePolicy::Required,
            accepted_video_codecs: list(&["h264"]),
            accepted_audio_codecs: list(&["aac", "mp3", "opus", "pcm_s16le"]),
            accepted_containers: list(&["mov", "ogg", "webm"]),
            target_resolution: 720,
            crf: 23,
            preset: "ultrafast".into(),
            max_bitrate: None,
            threads: 0,
            accel: Accel::Software,
        }
    }
}

impl TranscodeSettings {
    fn playable(&self, info: &VideoInfo) -> bool {
        let accepted = |list: &[String], name: &str| list.iter().any(|a| a == name);
        accepted(&self.accepted_video_codecs, &info.video_codec)
            && info.audio_codec.as_deref().is_none_or(|a| accepted(&self.accepted_audio_codecs, a))
            && info.container.split(',').any(|c| accepted(&self.accepted_containers, c))
    }

    fn too_large(&self, info: &VideoInfo) -> bool {
        info.metadata
            .width
            .zip(info.metadata.height)
            .is_some_and(|(w, h)| w.min(h) > i64::from(self.target_resolution))
    }

    /// Whether the video gets a playback copy.
    pub fn needs_transcode(&self, info: &VideoInfo) -> bool {
        match self.policy {
            TranscodePolicy::All => true,
            TranscodePolicy::Disabled => false,
            TranscodePolicy::Required => !self.playable(info),
            TranscodePolicy::Optimal => !self.playable(info) || self.too_large(info),
            TranscodePolicy::Bitrate => !self.playable(info) || self.max_bitrate.zip(info.bit_rate).is_some_and(|(max, b)| b > max),
        }
    }

    /// ffmpeg's arguments for the encoder `accel`: those before the input,
    /// and those after it. H.264 and AAC in MP4, scaled down to the target,
    /// streaming-friendly. ffmpeg rotates frames upright before the
    /// filters, so the scale follows the displayed orientation.
    pub fn args(&self, info: &VideoInfo, accel: &Accel) -> (Vec<String>, Vec<String>) {
        // Hardware encoders that take a bit rate get the limit, or about what CRF 23 gives at 720p.
        let encoder = hwaccel::h264_encoder(accel, self.crf, &self.preset, self.max_bitrate.unwrap_or(2_500_000));
        let mut args: Vec<String> = ["-map", "0:V:0", "-map", "0:a:0?", "-map_metadata", "-1"]
            .map(String::from)
            .to_vec();
        let mut filters = Vec::new();
        if self.too_large(info) {
            let portrait = info.metadata.width.zip(info.metadata.height).is_some_and(|(w, h)| w < h);
            let target = self.target_resolution;
            filters.push(if portrait {
                format!("scale={target}:-2")
            } else {
                format!("scale=-2:{target}")
            });
        }
        filters.push(encoder.filter_tail);
        args.extend(["-vf".into(), filters.join(",")]);
        args.extend(encoder.codec);
        if let Some(max) = self.max_bitrate {
            args.extend(["-maxrate".into(), max.to_string(), "-bufsize".into(), (max * 2).to_string()]);
        }
        if self.threads > 0 {
            args.extend(["-threads".into(), self.threads.to_string()]);
        }
        let audio_ok = info
            .audio_codec
            .as_deref()
            .is_some_and(|a| self.accepted_audio_codecs.iter().any(|c| c == a));
        args.extend(["-c:a".into(), if audio_ok { "copy" } else { "aac" }.into()]);
        args.extend(["-movflags", "+faststart", "-fps_mode", "passthrough", "-f", "mp4"].map(String::from));
        (encoder.before_input, args)
    }
}

/// How a transcode went: the encoder that made the copy, and why the
/// hardware one was given up, if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcoded {
    pub accel: Accel,
    pub fallback_reason: Option<String>,
}

/// Writes the playback copy of `original` to `output` with the configured
/// encoder, or in software when that fails, through a partial file renamed
/// into place, so a copy that exists is always complete.
pub fn transcode(original: &Path, output: &Path, info: &VideoInfo, settings: &TranscodeSettings) -> Result<Transcoded> {
    let dir = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let partial = output.with_extension("mp4.part");
    let attempt = |accel: &Accel| {
        let (before, after) = settings.args(info, accel);
        let mut args: Vec<std::ffi::OsString> = ["-v", "error", "-y"].map(Into::into).to_vec();
        args.extend(before.into_iter().map(Into::into));
        args.extend(["-i".into(), original.into()]);
        args.extend(after.into_iter().map(Into::into));
        args.push(partial.clone().into());
        // Software encoding on a small board runs near real time at worst; allow a wide margin.
        let seconds = info.duration_ms.unwrap_or(0).max(0) as u64 / 1000;
        let refs: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let result = process::run("ffmpeg", &refs, Duration::from_secs(300 + 30 * seconds), "ffmpeg");
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    };
    let outcome = match attempt(&settings.accel) {
        Ok(()) => Transcoded {
            accel: settings.accel.clone(),
            fallback_reason: None,
        },
        Err(e) if settings.accel != Accel::Software => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iphone_clip_gives_its_place_time_camera_and_upright_size() {
        let json = br#"{"streams":[
            {"codec_type":"video","codec_name":"hevc","width":1920,"height":1080,"avg_frame_rate":"30000/1001",
             "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
            {"codec_type":"audio","codec_name":"aac"}],
          "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"3.003000","bit_rate":"8000000",
            "tags":{"creation_time":"2023-05-06T05:08:09.000000Z","com.apple.quicktime.creationdate":"2023-05-06T07:08:09+0200",
              "com.apple.quicktime.make":"Apple","com.apple.quicktime.model":"iPhone 12",
              "com.apple.quicktime.location.ISO6709":"+48.8577+002.2950+035.000/"}}}"#;
        let v = parse(json).unwrap();
        assert_eq!((v.metadata.width, v.metadata.height, v.rotation), (Some(1080), Some(1920), 90));
        assert_eq!(
            (v.duration_ms, v.video_codec.as_str(), v.audio_codec.as_deref()),
            (Some(3003), "hevc", Some("aac"))
        );
        assert!((v.frame_rate.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(
            (v.metadata.make.as_deref(), v.metadata.model.as_deref()),
            (Some("Apple"), Some("iPhone 12"))
        );
        assert_eq!((v.metadata.latitude, v.metadata.longitude), (Some(48.8577), Some(2.295)));
        let taken = v.metadata.taken.unwrap();
        assert_eq!(taken.zone_name().as_deref(), Some("UTC+2"));
        assert_eq!(taken.utc_millis, Some(1_683_349_689_000));
        assert_eq!(taken.local_millis - taken.utc_millis.unwrap(), 7_200_000);
    }

    #[test]
    fn android_tags_and_an_old_rotate_tag_are_understood() {
        let json = br#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":480,"tags":{"rotate":"270"}}],
          "format":{"duration":"1.5","tags":{"creation_time":"2024-01-02T03:04:05.000000Z","com.android.manufacturer":"Google",
            "com.android.model":"Pixel 8","location":"-33.8688+151.2093/"}}}"#;
        let v = parse(json).unwrap();
        assert_eq!((v.rotation, v.metadata.width), (270, Some(480)));
        assert_eq!(v.metadata.model.as_deref(), Some("Pixel 8"));
        assert_eq!((v.metadata.latitude, v.metadata.longitude), (Some(-33.8688), Some(151.2093)));
        assert_eq!(v.metadata.taken.unwrap().offset_seconds, None);
    }

    #[test]
    fn audio_alone_or_a_cover_picture_is_not_a_video() {
        let json = br#"{"streams":[{"codec_type":"audio","codec_name":"mp3"},
            {"codec_type":"video","codec_name":"mjpeg","width":300,"height":300,"disposition":{"attached_pic":1}}],"format":{}}"#;
        assert!(parse(json).unwrap_err().to_string().contains("no video stream"));
    }

    #[test]
    fn a_clockless_camera_date_is_no_date() {
        assert_eq!(capture_time(&None, &Some("1970-01-01T00:00:00.000000Z".into())), None);
        assert_eq!(iso6709("+91.0+000.0/"), None);
    }

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
            ..VideoInfo::default()
        }
    }

    #[test]
    fn only_what_clients_cannot_play_is_transcoded_by_default() {
        let s = TranscodeSettings::default();
        let mp4 = "mov,mp4,m4a,3gp,3g2,mj2";
        assert!(!s.needs_transcode(&clip("h264", Some("aac"), mp4, (1920, 1080))));
        assert!(!s.needs_transcode(&clip("h264", None, mp4, (1920, 1080))), "no audio is fine");
        assert!(s.needs_transcode(&clip("hevc", Some("aac"), mp4, (1920, 1080))));
        assert!(s.needs_transcode(&clip("h264", Some("ac3"), mp4, (640, 480))));
        assert!(
            !s.needs_transcode(&clip("h264", Some("opus"), "matroska,webm", (640, 480))),
            "webm is accepted"
        );
        assert!(s.needs_transcode(&clip("h264", Some("aac"), "avi", (640, 480))));
        let optimal = TranscodeSettings {
            policy: TranscodePolicy::Optimal,
            ..TranscodeSettings::default()
        };
        assert!(optimal.needs_transcode(&clip("h264", Some("aac"), mp4, (1920, 1080))));
        assert!(!optimal.needs_transcode(&clip("h264", Some("aac"), mp4, (1280, 720))));
        let bitrate = TranscodeSettings {
            policy: TranscodePolicy::Bitrate,
            max_bitrate: Some(10_000_000),
            ..TranscodeSettings::default()
        };
        assert!(bitrate.needs_transcode(&clip("h264", Some("aac"), mp4, (640, 480))));
    }

    #[test]
    fn software_arguments_scale_by_the_shorter_side_and_keep_playable_audio() {
        let s = TranscodeSettings::default();
        let software = |info: &VideoInfo| s.args(info, &Accel::Software).1.join(" ");
        let args = software(&clip("hevc", Some("aac"), "mov", (1080, 1920)));
        assert!(args.contains("-vf scale=720:-2,format=yuv420p"), "{args}");
        assert!(
            args.contains("-c:v libx264") && args.contains("-crf 23") && args.contains("-preset ultrafast"),
            "{args}"
        );
        assert!(args.contains("-c:a copy") && args.contains("-f mp4"), "{args}");
        let args = software(&clip("vp9", Some("vorbis"), "webm", (3840, 2160)));
        assert!(args.contains("scale=-2:720") && args.contains("-c:a aac"), "{args}");
        let small = software(&clip("mpeg4", None, "avi", (320, 240)));
        assert!(!small.contains("scale="), "nothing is enlarged: {small}");
    }

    #[test]
    fn a_failing_hardware_encoder_falls_back_to_software() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.mkv");
        let made = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=1:size=160x120:rate=10",
                "-c:v",
                "mpeg4",
            ])
            .arg(&input)
            .status()
            .expect("ffmpeg is missing: run ci/install-test-deps.sh");
        assert!(made.success());
        let info = probe(&input).unwrap();
        // This machine has no VAAPI device at this path, so the hardware attempt fails for real.
        let settings = TranscodeSettings {
            accel: Accel::Vaapi {
                device: "/nonexistent/renderD128".into(),
            },
            ..TranscodeSettings::default()
        };
        let output = dir.path().join("out.mp4");
        let done = transcode(&input, &output, &info, &settings).unwrap();
        assert_eq!(done.accel, Accel::Software);
        assert!(done.fallback_reason.unwrap().contains("ffmpeg"));
        assert_eq!(probe(&output).unwrap().video_codec, "h264");
        assert!(!output.with_extension("mp4.part").exists());
    }
}
