//! Videos made with Debian's ffmpeg in several codecs and containers, as
//! phones and cameras write them: metadata and an upright poster for each,
//! and a clear error for a broken one that disturbs nothing else.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, send};
use serde_json::Value;

/// Runs ffmpeg with `args` (output last) in `dir` and returns the file it wrote.
fn ffmpeg(dir: &Path, args: &[&str]) -> Vec<u8> {
    let status = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg is missing: run ci/install-test-deps.sh");
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(dir.join(args.last().unwrap())).unwrap()
}

const SOURCE: [&str; 4] = ["-f", "lavfi", "-i", "testsrc=duration=4:size=320x240:rate=15"];
/// HEVC as iPhones write it (tagged `hvc1`, which Apple's players need).
const HEVC: [&str; 8] = [
    "-c:v",
    "libx265",
    "-x265-params",
    "log-level=error",
    "-pix_fmt",
    "yuv420p",
    "-tag:v",
    "hvc1",
];

fn with(source: &[&str], rest: &[&str]) -> Vec<String> {
    source.iter().chain(rest).map(|s| s.to_string()).collect()
}

#[test]
fn videos_get_metadata_and_posters_and_broken_ones_a_clear_error() {
    let clips = tempfile::tempdir().unwrap();
    let dir = clips.path();
    let make = |args: Vec<String>| ffmpeg(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());

    let h264 = make(with(
        &SOURCE,
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=duration=4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "plain.mp4",
        ],
    ));
    // A phone held upright: the frames are stored sideways with a rotation to apply.
    let rotated = make(vec![
        "-i".into(),
        "plain.mp4".into(),
        "-c".into(),
        "copy".into(),
        "-metadata:s:v:0".into(),
        "rotate=90".into(),
        "-metadata".into(),
        "creation_time=2021-07-04T12:00:00Z".into(),
        "rotated.mp4".into(),
    ]);
    let iphone = make(with(
        &SOURCE,
        &[
            &HEVC[..],
            &[
                "-metadata",
                "com.apple.quicktime.creationdate=2023-05-06T07:08:09+0200",
                "-metadata",
                "com.apple.quicktime.make=Apple",
                "-metadata",
                "com.apple.quicktime.model=iPhone 12",
                "-metadata",
                "com.apple.quicktime.location.ISO6709=+48.8577+002.2950+035.000/",
                "-movflags",
                "use_metadata_tags",
                "iphone.mov",
            ],
        ]
        .concat(),
    ));
    let vp9 = make(with(&SOURCE, &["-c:v", "libvpx-vp9", "-deadline", "realtime", "clip.webm"]));
    let av1 = make(with(
        &["-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10"],
        &["-c:v", "libaom-av1", "-cpu-used", "8", "clip.mkv"],
    ));
    let uhd = make(with(
        &["-f", "lavfi", "-i", "testsrc2=duration=1:size=3840x2160:rate=10"],
        &[&HEVC[..], &["-preset", "ultrafast", "4k.mov"]].concat(),
    ));
    let truncated = h264[..h264.len() / 3].to_vec();

    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let token = s.admin();
    let files = [
        ("rotated.mp4", rotated),
        ("IMG_0001.MOV", iphone),
        ("clip.webm", vp9),
        ("clip.mkv", av1),
        ("4k.mov", uhd),
        ("plain.mp4", h264),
    ];
    let good: Vec<(&str, String)> = files
        .iter()
        .map(|(name, bytes)| (*name, s.created(&token, name, bytes.clone())))
        .collect();
    let originals: Vec<Vec<u8>> = files.into_iter().map(|(_, bytes)| bytes).collect();
    let broken = s.created(&token, "cut.mp4", truncated);
    let fake = s.created(&token, "fake.mp4", b"\0\0\0\x18ftypmp42 this is not a video at all".to_vec());
    s.wait_idle(&token);

    let asset = |id: &str| s.asset(&token, id);
    for (name, id) in &good {
        let a = asset(id);
        assert!(s.failures(&token, id).is_empty(), "{name}: {:?}", s.failures(&token, id));
        assert_eq!(a["type"], "VIDEO", "{name}");
        let poster = fetch_poster(&s, &token, id);
        // The preview is the frame, upright, its shorter side at most 1440 px.
        let (w, h) = (a["width"].as_u64().unwrap() as u32, a["height"].as_u64().unwrap() as u32);
        let scale = (1440.0 / f64::from(w.min(h))).min(1.0);
        let expected = ((f64::from(w) * scale).round() as u32, (f64::from(h) * scale).round() as u32);
        assert_eq!((poster.width(), poster.height()), expected, "{name}");
    }
    let rotated = asset(&good[0].1);
    assert_eq!(
        (rotated["width"].as_i64(), rotated["height"].as_i64()),
        (Some(240), Some(320)),
        "upright: {rotated}"
    );
    assert_eq!(rotated["fileCreatedAt"], "2021-07-04T12:00:00.000Z");
    assert_eq!(rotated["duration"], duration_of(&rotated, 4000));
    let iphone = asset(&good[1].1);
    let exif: &Value = &iphone["exifInfo"];
    assert_eq!(
        (exif["make"].as_str(), exif["model"].as_str()),
        (Some("Apple"), Some("iPhone 12")),
        "{exif}"
    );
    assert_eq!(
        (exif["latitude"].as_f64(), exif["timeZone"].as_str()),
        (Some(48.8577), Some("UTC+2"))
    );
    assert_eq!(iphone["localDateTime"], "2023-05-06T07:08:09.000Z");

    // What clients cannot play as it is gets an H.264 copy; the rest plays as uploaded.
    for ((name, id), original) in good.iter().zip(&originals) {
        let played = fetch_playback(&s, &token, id);
        let transcoded = !name.ends_with(".mp4");
        assert_eq!(
            played == *original,
            !transcoded,
            "{name} is played {}",
            if transcoded { "from a copy" } else { "as uploaded" }
        );
        let file = dir.join(format!("played-{name}"));
        std::fs::write(&file, &played).unwrap();
        assert_eq!(codec(&file), "h264", "{name}");
    }
    let uhd = asset(&good[4].1);
    assert_eq!((uhd["width"].as_i64(), uhd["height"].as_i64()), (Some(3840), Some(2160)), "{uhd}");
    assert_eq!(
        stream_entry(&dir.join("played-4k.mov"), "width,height"),
        "1280\n720",
        "a 4K clip plays from a 720p copy"
    );
    let range = s
        .get(&format!("/api/assets/{}/video/playback", good[1].1))
        .bearer_auth(&token)
        .header("range", "bytes=0-99")
        .send()
        .unwrap();
    assert_eq!(
        (range.status().as_u16(), range.headers()["content-type"].to_str().unwrap()),
        (206, "video/mp4")
    );
    assert_eq!(range.bytes().unwrap().len(), 100);

    for id in [&broken, &fake] {
        let failures = s.failures(&token, id);
        let metadata = failures
            .iter()
            .find(|f| f["kind"] == "metadataExtraction")
            .expect("the metadata job failed");
        assert!(
            metadata["error"].as_str().unwrap().contains("ffprobe could not read the file"),
            "{failures:?}"
        );
        let (status, _) = send(s.get(&format!("/api/assets/{id}/original")).bearer_auth(&token));
        assert_eq!(status, 200, "a broken video's original is kept");
    }
}

/// A video's poster, as the preview size serves it.
fn fetch_poster(s: &Server, token: &str, id: &str) -> image::DynamicImage {
    let r = s
        .get(&format!("/api/assets/{id}/thumbnail?size=preview"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg", "{id} has a real poster");
    image::load_from_memory(&r.bytes().unwrap()).unwrap()
}

/// What the playback route serves for a video.
fn fetch_playback(s: &Server, token: &str, id: &str) -> Vec<u8> {
    let r = s
        .get(&format!("/api/assets/{id}/video/playback"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().unwrap().to_vec()
}

/// One of tracker-miners' real test videos (see ci/fetch-fixtures.sh).
fn real_video(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/videos");
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name} missing ({e}): run ci/fetch-fixtures.sh first"))
}

#[test]
fn real_videos_from_other_software_get_their_metadata_a_poster_and_a_playable_copy() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let token = s.admin();
    // (file, frame size tracker reads, capture time, codec as uploaded)
    let videos = [
        ("mp4-basic.mp4", (320, 240), None, "h264"),
        ("mov-basic.mov", (192, 144), Some("2001-04-21T00:16:04.000Z"), "svq1"),
        ("mkv-basic.mkv", (1920, 1080), Some("2022-02-22T10:11:34.000Z"), "h264"),
        ("mp4-video-without-audio.mp4", (864, 480), None, "mpeg4"),
    ];
    let ids: Vec<String> = videos.iter().map(|(name, ..)| s.created(&token, name, real_video(name))).collect();
    s.wait_idle(&token);

    let copies = tempfile::tempdir().unwrap();
    for ((name, (width, height), taken, codec_in), id) in videos.iter().zip(&ids) {
        let a = s.asset(&token, id);
        assert!(s.failures(&token, id).is_empty(), "{name}: {:?}", s.failures(&token, id));
        assert_eq!(
            (a["type"].as_str(), a["width"].as_i64(), a["height"].as_i64()),
            (Some("VIDEO"), Some(*width), Some(*height)),
            "{name}: {a}"
        );
        // mp4-basic says it was made at the Unix epoch, a muxer's placeholder: the upload's date stands.
        assert_eq!(a["fileCreatedAt"], taken.unwrap_or("2001-02-03T04:05:06.000Z"), "{name}");
        let poster = fetch_poster(&s, &token, id);
        assert!(poster.width() > 0 && poster.height() > 0, "{name}");

        // Only an H.264 MP4 plays as uploaded; the rest gets an H.264 copy.
        let bytes = fetch_playback(&s, &token, id);
        let file = copies.path().join(name);
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(codec(&file), "h264", "{name} plays as H.264");
        let as_uploaded = *codec_in == "h264" && name.ends_with(".mp4");
        assert_eq!(bytes == real_video(name), as_uploaded, "{name}");
    }
}

/// The codec of the first video stream, by ffprobe.
fn codec(path: &Path) -> String {
    stream_entry(path, "codec_name")
}

/// Entries of the first video stream, by ffprobe, one a line.
fn stream_entry(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg(format!("stream={entries}"))
        .args(["-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The duration as the asset response writes it (the field's format is Immich's).
fn duration_of(asset: &Value, ms: i64) -> Value {
    match &asset["duration"] {
        Value::String(_) => Value::String(format!("0:00:{:02}.{:03}000", ms / 1000, ms % 1000)),
        _ => Value::from(ms),
    }
}

#[test]
fn a_transcode_cut_off_by_a_crash_is_redone_once_after_restart() {
    let clips = tempfile::tempdir().unwrap();
    // Long enough that the copy is still being written when the server dies.
    let hevc = ffmpeg(
        clips.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=duration=20:size=1280x720:rate=30",
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
            "-preset",
            "ultrafast",
            "-tag:v",
            "hvc1",
            "long.mov",
        ],
    );
    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let token = s.admin();
    let id = s.created(&token, "long.mov", hevc);
    let encoded = data.path().join("cache/encoded-video");
    let files = |suffix: &str| {
        crate::common::files_under(&encoded)
            .into_iter()
            .filter(|f| f.to_string_lossy().ends_with(suffix))
            .count()
    };
    crate::common::eventually("the transcode has started writing", || files(".part") == 1);
    let progress = || {
        let (_, jobs) = send(s.get("/api/shoebox/jobs").bearer_auth(&token));
        jobs["runningJobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["kind"] == "videoConversion")
            .and_then(|j| j["progress"].as_f64())
    };
    crate::common::eventually("the jobs API shows how far the transcode has got", || {
        progress().is_some_and(|p| p > 0.0 && p < 1.0) || files(".mp4") == 1
    });
    s.kill();

    let s = Server::start(data.path());
    s.wait_idle(&token);
    assert_eq!((files(".part"), files(".mp4")), (0, 1), "exactly one finished copy");
    assert!(s.failures(&token, &id).is_empty());
    let played = clips.path().join("played.mp4");
    std::fs::write(
        &played,
        s.get(&format!("/api/assets/{id}/video/playback"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .bytes()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(codec(&played), "h264");
}

#[test]
fn the_status_page_says_which_video_encoder_was_found() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let admin = s.admin();
    let (status, body) = send(s.get("/api/shoebox/status").bearer_auth(&admin));
    assert_eq!(status, 200, "{body}");
    let hw = &body["hardware"];
    // This machine has no video engine; on a board the probe's own tests cover each kind.
    let expected = if hw["renderNodes"].as_array().unwrap().is_empty() && hw["v4l2Devices"].as_array().unwrap().is_empty() {
        "software"
    } else {
        hw["videoEncoder"].as_str().unwrap()
    };
    assert_eq!(hw["videoEncoder"], expected, "{hw}");
    assert!(hw["ffmpegHardwareEncoders"].is_array());
    let user = s.user(&admin, "u@example.com");
    assert_eq!(send(s.get("/api/shoebox/status").bearer_auth(&user)).0, 403, "status is for admins");
}

/// A JPEG with an XMP segment announcing a motion photo, and the MP4 after it,
/// as Google's camera writes them.
fn motion_photo(still: &[u8], video: &[u8]) -> Vec<u8> {
    let xmp = format!(
        r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
        <rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" xmlns:Container="http://ns.google.com/photos/1.0/container/"
          xmlns:Item="http://ns.google.com/photos/1.0/container/item/" GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1">
        <Container:Directory><rdf:Seq>
          <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0" Item:Padding="0"/></rdf:li>
          <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="{}" Item:Padding="0"/></rdf:li>
        </rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"#,
        video.len()
    );
    let payload = [b"http://ns.adobe.com/xap/1.0/\0".as_slice(), xmp.as_bytes()].concat();
    let mut out = still[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&still[2..]);
    out.extend_from_slice(video);
    out
}

#[test]
fn an_android_motion_photo_becomes_a_still_with_a_playable_motion_part() {
    let clips = tempfile::tempdir().unwrap();
    let video = ffmpeg(
        clips.path(),
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=320x240:rate=15",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "motion.mp4",
        ],
    );
    let photo = motion_photo(&crate::common::jpeg(320, 240, 5), &video);
    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let token = s.admin();
    let still = s.created(&token, "PXL_20240101_MP.jpg", photo.clone());
    s.wait_idle(&token);

    let a = s.asset(&token, &still);
    let motion = a["livePhotoVideoId"].as_str().expect("the still links its motion part").to_owned();
    let m = s.asset(&token, &motion);
    assert_eq!((m["type"].as_str(), m["visibility"].as_str()), (Some("VIDEO"), Some("hidden")));
    assert_eq!(m["originalFileName"], "PXL_20240101_MP.mp4");
    assert!(s.failures(&token, &still).is_empty() && s.failures(&token, &motion).is_empty());
    let played = s
        .get(&format!("/api/assets/{motion}/video/playback"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(
        played.as_ref(),
        video.as_slice(),
        "the motion part is the embedded MP4, byte for byte"
    );
    let original = s
        .get(&format!("/api/assets/{still}/original"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(original.as_ref(), photo.as_slice(), "the still's original is kept whole");
    let (_, buckets) = send(s.get("/api/timeline/buckets").bearer_auth(&token));
    assert_eq!(buckets[0]["count"], 1, "one visible asset: {buckets}");

    let (status, again) = s.upload(&token, "PXL_20240101_MP.jpg", photo);
    assert_eq!(
        (status, again["id"].as_str()),
        (200, Some(still.as_str())),
        "a retried upload is a duplicate"
    );
    assert_eq!(send(s.get("/api/assets/statistics").bearer_auth(&token)).1["total"], 2);
}

#[test]
fn video_settings_are_immichs_checked_and_used_by_the_next_transcode() {
    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let admin = s.admin();
    let (status, defaults) = send(s.get("/api/shoebox/settings/video").bearer_auth(&admin));
    assert_eq!(status, 200, "{defaults}");
    crate::common::schema::check_schema("SystemConfigFFmpegDto", &defaults);
    assert_eq!(
        (
            defaults["targetVideoCodec"].as_str(),
            defaults["crf"].as_i64(),
            defaults["accel"].as_str()
        ),
        (Some("h264"), Some(23), Some("disabled")),
        "Immich's defaults, with the engine this machine has (none)"
    );
    let user = s.user(&admin, "u@example.com");
    assert_eq!(send(s.get("/api/shoebox/settings/video").bearer_auth(&user)).0, 403);
    assert_eq!(
        send(
            s.put("/api/shoebox/settings/video")
                .bearer_auth(&user)
                .json(&serde_json::json!({"crf": 30}))
        )
        .0,
        403
    );

    let put = |body: Value| send(s.put("/api/shoebox/settings/video").bearer_auth(&admin).json(&body));
    let (status, refused) = put(serde_json::json!({"crf": 99}));
    assert_eq!(status, 400);
    assert!(
        refused["message"].as_str().unwrap().contains("crf must be between 0 and 51"),
        "{refused}"
    );
    let (status, refused) = put(serde_json::json!({"targetVideoCodec": "mpeg2"}));
    assert_eq!(status, 400, "{refused}");
    let (status, refused) = put(serde_json::json!({"crff": 20}));
    assert!(status == 400 && refused["message"].as_str().unwrap().contains("crff"), "{refused}");
    let (status, saved) = put(serde_json::json!({"targetVideoCodec": "hevc", "crf": 28, "accel": "v4l2"}));
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (saved["targetVideoCodec"].as_str(), saved["crf"].as_i64()),
        (Some("hevc"), Some(28))
    );
    assert_eq!(saved["preset"], "ultrafast", "fields left out keep their values");
    let (_, status_page) = send(s.get("/api/shoebox/status").bearer_auth(&admin));
    let hw = &status_page["hardware"];
    assert_eq!(hw["videoEngineChosen"], "v4l2");
    if hw["v4l2Devices"].as_array().unwrap().is_empty() {
        assert_eq!(hw["videoEncoder"], "software", "{hw}");
        assert!(hw["videoEngineProblem"].as_str().unwrap().contains("V4L2"), "{hw}");
    }

    let clips = tempfile::tempdir().unwrap();
    let vp9 = ffmpeg(
        clips.path(),
        &[&SOURCE[..], &["-c:v", "libvpx-vp9", "-deadline", "realtime", "clip.webm"]].concat(),
    );
    let id = s.created(&admin, "clip.webm", vp9);
    s.wait_idle(&admin);
    assert!(s.failures(&admin, &id).is_empty(), "{:?}", s.failures(&admin, &id));
    let played = clips.path().join("played.mp4");
    let bytes = s
        .get(&format!("/api/assets/{id}/video/playback"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    std::fs::write(&played, bytes).unwrap();
    assert_eq!(
        codec(&played),
        "hevc",
        "the copy follows the saved settings, in software where the engine is missing"
    );

    let restarted = s.stop();
    assert!(restarted.success());
    let s = Server::start(data.path());
    let (_, after) = send(
        s.get("/api/shoebox/settings/video")
            .bearer_auth(s.login("admin@example.com", crate::common::PASSWORD)),
    );
    assert_eq!(after["crf"], 28, "settings survive a restart");
}

/// A JPEG whose EXIF holds an Apple maker note with this content
/// identifier, as an iPhone writes the still of a live photo.
fn apple_still(content_id: &str, seed: u8) -> Vec<u8> {
    let text = format!("{content_id}\0");
    let mut note = b"Apple iOS\0\0\x01MM".to_vec();
    note.extend_from_slice(&1u16.to_be_bytes());
    note.extend_from_slice(&0x0011u16.to_be_bytes());
    note.extend_from_slice(&2u16.to_be_bytes());
    note.extend_from_slice(&(text.len() as u32).to_be_bytes());
    // After the one entry and the next-directory offset; Apple counts from the note's start.
    note.extend_from_slice(&(14u32 + 2 + 12 + 4).to_be_bytes());
    note.extend_from_slice(&0u32.to_be_bytes());
    note.extend_from_slice(text.as_bytes());
    let field = exif::Field {
        tag: exif::Tag::MakerNote,
        ifd_num: exif::In::PRIMARY,
        value: exif::Value::Undefined(note, 0),
    };
    let mut writer = exif::experimental::Writer::new();
    writer.push_field(&field);
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let payload = [b"Exif\0\0".as_slice(), tiff.get_ref()].concat();
    let still = crate::common::jpeg(320, 240, seed);
    let mut out = still[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&still[2..]);
    out
}

#[test]
fn a_live_photo_uploaded_as_two_files_is_paired_by_apples_content_identifier() {
    let clips = tempfile::tempdir().unwrap();
    let motion = |name: &str, content_id: &str| {
        ffmpeg(
            clips.path(),
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=1:size=320x240:rate=10",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-metadata",
                &format!("com.apple.quicktime.content.identifier={content_id}"),
                "-movflags",
                "use_metadata_tags",
                name,
            ],
        )
    };
    let data = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let token = s.admin();
    // One pair with its video first, one with its still first, and a still whose video never comes.
    let video_first = s.created(&token, "IMG_0001.MOV", motion("a.mov", "11111111-AAAA"));
    s.wait_idle(&token);
    let still_after = s.created(&token, "IMG_0001.HEIC.jpg", apple_still("11111111-AAAA", 1));
    let still_first = s.created(&token, "IMG_0002.jpg", apple_still("22222222-BBBB", 2));
    s.wait_idle(&token);
    let video_after = s.created(&token, "IMG_0002.MOV", motion("b.mov", "22222222-BBBB"));
    let lonely = s.created(&token, "IMG_0003.jpg", apple_still("33333333-CCCC", 3));
    s.wait_idle(&token);

    for (still, video) in [(&still_after, &video_first), (&still_first, &video_after)] {
        let a = s.asset(&token, still);
        assert_eq!(a["livePhotoVideoId"].as_str(), Some(video.as_str()), "{a}");
        assert_eq!(s.asset(&token, video)["visibility"], "hidden");
    }
    assert!(s.asset(&token, &lonely)["livePhotoVideoId"].is_null());
    let (_, buckets) = send(s.get("/api/timeline/buckets").bearer_auth(&token));
    let visible: i64 = buckets.as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum();
    assert_eq!(visible, 3, "three stills, their videos hidden behind them: {buckets}");

    // Another user's video with the same identifier is never paired with this user's still.
    let other = s.user(&token, "other@example.com");
    let theirs = s.created(&other, "IMG_0004.MOV", motion("c.mov", "33333333-CCCC"));
    s.wait_idle(&token);
    assert!(s.asset(&token, &lonely)["livePhotoVideoId"].is_null());
    assert_eq!(s.asset(&other, &theirs)["visibility"], "timeline");
}

#[test]
fn a_videos_xmp_sidecar_is_read_as_a_photos_is() {
    let clips = tempfile::tempdir().unwrap();
    let clip = ffmpeg(
        clips.path(),
        &with(&SOURCE, &["-c:v", "libx264", "-pix_fmt", "yuv420p", "clip.mp4"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let xmp = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
        <rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Waves at noon</rdf:li></rdf:Alt></dc:description>
        </rdf:Description></rdf:RDF></x:xmpmeta>"#;
    let part = reqwest::blocking::multipart::Part::bytes;
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2020-01-01T00:00:00.000Z")
        .text("fileModifiedAt", "2020-01-01T00:00:00.000Z")
        .part("sidecarData", part(xmp.as_bytes().to_vec()).file_name("clip.mp4.xmp"))
        .part("assetData", part(clip).file_name("clip.mp4"));
    let (status, body) = send(s.post("/api/assets").bearer_auth(&token).multipart(form));
    assert_eq!(status, 201, "{body}");
    let video = s.settled(&token, body["id"].as_str().unwrap());
    assert_eq!(video["type"], "VIDEO");
    assert_eq!(
        (&video["exifInfo"]["rating"], &video["exifInfo"]["description"]),
        (&Value::from(4), &Value::from("Waves at noon")),
        "{video}"
    );
    assert_eq!(video["exifInfo"]["exifImageWidth"], 320, "the file's own metadata still counts");
}
