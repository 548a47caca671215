//! Video work on this machine: a 1080p HEVC phone clip transcoded to the
//! 720p H.264 default by Shoebox's code and by the ffmpeg command Immich
//! builds for the same settings, and the poster frame both ways. Reports
//! frames per second, wall time and ffmpeg's peak memory. Each step runs in
//! its own process, so the peak memory of its children is its own.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, ensure};
use shoebox_media::hwaccel::Accel;
use shoebox_media::transcode::{self, TranscodeSettings};
use shoebox_media::video;

#[derive(clap::Args)]
pub struct VideoArgs {
    /// Length of the generated clip, in seconds
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Run one step on an existing clip (used by the benchmark itself)
    #[arg(long, value_enum, requires = "clip", hide = true)]
    step: Option<Step>,
    #[arg(long, hide = true)]
    clip: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Step {
    Transcode,
    ImmichTranscode,
    Poster,
    ImmichPoster,
}

const FPS: u32 = 30;

pub fn run(args: VideoArgs) -> anyhow::Result<()> {
    if let (Some(step), Some(clip)) = (args.step, &args.clip) {
        return run_step(step, clip, args.seconds);
    }
    let dir = tempfile::tempdir()?;
    let clip = dir.path().join("phone.mov");
    let source = format!("testsrc2=duration={}:size=1920x1080:rate={FPS}", args.seconds);
    let sine = format!("sine=duration={}", args.seconds);
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &source,
            "-f",
            "lavfi",
            "-i",
            &sine,
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
            "-preset",
            "ultrafast",
            "-tag:v",
            "hvc1",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
        &clip,
    )?;
    let info = video::probe(&clip)?;
    println!(
        "clip: {}x{} {}, {} s at {FPS} fps",
        info.metadata.width.unwrap_or(0),
        info.metadata.height.unwrap_or(0),
        info.video_codec,
        args.seconds
    );
    for step in ["transcode", "immich-transcode", "poster", "immich-poster"] {
        let status = Command::new(std::env::current_exe()?)
            .args(["video", "--seconds", &args.seconds.to_string(), "--step", step, "--clip"])
            .arg(&clip)
            .status()?;
        ensure!(status.success(), "step {step} failed");
    }
    Ok(())
}

fn run_step(step: Step, clip: &Path, seconds: u32) -> anyhow::Result<()> {
    let dir = clip.parent().context("the clip lives in a folder")?;
    let frames = f64::from(seconds * FPS);
    let info = video::probe(clip)?;
    let start = Instant::now();
    let label = match step {
        Step::Transcode => {
            transcode::transcode(
                clip,
                &dir.join("shoebox.mp4"),
                &info,
                &TranscodeSettings::default(),
                &Accel::Software,
                &mut |_| {},
            )?;
            "transcode, Shoebox"
        }
        Step::ImmichTranscode => {
            // Immich's software H.264 command for its defaults (server/src/utils/media.ts, BaseConfig.getCommand).
            let args = [
                "-c:v",
                "h264",
                "-c:a",
                "aac",
                "-movflags",
                "faststart",
                "-fps_mode",
                "passthrough",
                "-map",
                "0:0",
                "-map_metadata",
                "-1",
                "-map",
                "0:1",
                "-vf",
                "scale=-2:720",
                "-preset",
                "ultrafast",
                "-crf",
                "23",
            ];
            ffmpeg_on(&[], clip, &args, &dir.join("immich.mp4"))?;
            "transcode, Immich"
        }
        Step::Poster => {
            video::poster(clip, info.duration_ms, &dir.join("poster.png"))?;
            "poster, Shoebox"
        }
        Step::ImmichPoster => {
            // Immich's ThumbnailConfig for the same clip: keyframes only, a scene-change pick.
            let filter = "fps=12:start_time=0:eof_action=pass:round=down,thumbnail=12,\
                select=gt(scene\\,0.1)-eq(prev_selected_n\\,n)+isnan(prev_selected_n)+gt(n\\,20),trim=end_frame=2,reverse,\
                scale=-2:1440:flags=lanczos+accurate_rnd+full_chroma_int:out_range=pc";
            let input = ["-skip_frame", "nointra", "-sws_flags", "accurate_rnd+full_chroma_int"];
            let output = ["-fps_mode", "vfr", "-frames:v", "1", "-update", "1", "-vf", filter];
            ffmpeg_on(&input, clip, &output, &dir.join("immich-poster.png"))?;
            "poster, Immich"
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    let rate = if matches!(step, Step::Transcode | Step::ImmichTranscode) {
        format!("{:6.1} fps", frames / secs)
    } else {
        " ".repeat(10)
    };
    println!("{label:<20} {rate}  {secs:6.2} s  ffmpeg peak RSS {} MiB", usage.max_rss() / 1024);
    Ok(())
}

fn ffmpeg(args: &[&str], output: &Path) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(output)
        .status()
        .context("ffmpeg is missing: run ci/install-test-deps.sh")?;
    ensure!(status.success(), "ffmpeg {args:?} failed");
    Ok(())
}

fn ffmpeg_on(input_options: &[&str], input: &Path, args: &[&str], output: &Path) -> anyhow::Result<()> {
    let mut all: Vec<std::ffi::OsString> = input_options.iter().map(Into::into).collect();
    all.extend(["-i".into(), input.as_os_str().to_owned()]);
    all.extend(args.iter().map(Into::into));
    let refs: Vec<&str> = all.iter().map(|a| a.to_str().unwrap_or_default()).collect();
    ffmpeg(&refs, output)
}
