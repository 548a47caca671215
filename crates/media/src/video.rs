//! Videos through Debian's ffmpeg: what ffprobe says about a file
//! (duration, codecs, frame size and rotation, capture time, place,
//! camera, Apple's live-photo identifier), and a poster frame for the
//! thumbnail pipeline. The playback copy is `transcode`'s.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

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
    /// ffprobe's pixel format, e.g. "yuv420p10le".
    pub pixel_format: Option<String>,
    /// ffprobe's transfer characteristic, e.g. "smpte2084" (HDR10) or "bt709".
    pub color_transfer: Option<String>,
}

impl VideoInfo {
    /// HDR10 (PQ) or HLG video, which needs tone mapping to look right on SDR screens.
    pub fn is_hdr(&self) -> bool {
        matches!(self.color_transfer.as_deref(), Some("smpte2084" | "arib-std-b67"))
    }
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
    pix_fmt: Option<String>,
    color_transfer: Option<String>,
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
        // The still of a live photo carries the same identifier in its maker note.
        live_photo_id: tag(&["com.apple.quicktime.content.identifier"]),
        ..Metadata::default()
    };
    Ok(VideoInfo {
        metadata,
        duration_ms,
        video_codec: video.codec_name.clone().unwrap_or_default(),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
        container: container_name(
            format.format_name.as_deref().unwrap_or_default(),
            video.codec_name.as_deref().unwrap_or_default(),
            audio.and_then(|a| a.codec_name.as_deref()),
        ),
        frame_rate: video.avg_frame_rate.as_deref().and_then(fraction),
        bit_rate: format
            .bit_rate
            .as_deref()
            .or(video.bit_rate.as_deref())
            .and_then(|b| b.parse().ok()),
        rotation,
        pixel_format: video.pix_fmt.clone(),
        color_transfer: video.color_transfer.clone(),
    })
}

/// ffprobe names Matroska and WebM alike ("matroska,webm"). A file is
/// WebM only with the codecs WebM allows, so an H.264 MKV is not taken for
/// WebM (an accepted container by default) and played where browsers and
/// phones cannot.
fn container_name(format: &str, video: &str, audio: Option<&str>) -> String {
    if format != "matroska,webm" {
        return format.to_owned();
    }
    let webm = ["vp8", "vp9", "av1"].contains(&video) && audio.is_none_or(|a| ["vorbis", "opus"].contains(&a));
    if webm { "webm" } else { "matroska" }.to_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matroska_is_webm_only_with_the_codecs_webm_allows() {
        assert_eq!(container_name("matroska,webm", "vp9", Some("opus")), "webm");
        assert_eq!(container_name("matroska,webm", "av1", None), "webm");
        assert_eq!(container_name("matroska,webm", "h264", Some("aac")), "matroska");
        assert_eq!(container_name("matroska,webm", "vp9", Some("aac")), "matroska");
        assert_eq!(container_name("mov,mp4,m4a,3gp,3g2,mj2", "h264", None), "mov,mp4,m4a,3gp,3g2,mj2");
    }

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
}
