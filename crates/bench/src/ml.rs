//! Machine learning inside the process, as jobs run it: text recognition,
//! face detection and CLIP image embeddings per second on the same images,
//! one search query's embedding, and memory with the models loaded and
//! after they unload. `compare-ml.sh` runs this beside RapidOCR (what
//! Immich's ML service uses for OCR), the MTCNN package the face networks
//! come from and Immich's CLIP preprocessing on ONNX Runtime, with the same
//! models and thread counts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use image::RgbImage;
use shoebox_ml::clip::Clip;
use shoebox_ml::faces::FaceDetector;
use shoebox_ml::ocr::{Ocr, Settings};
use shoebox_ml::{ModelStore, Runtime};

#[derive(clap::Args)]
pub struct MlArgs {
    /// What ci/fetch-ml.sh unpacked: runtime/, models/
    #[arg(long, default_value = "target/ml")]
    ml_dir: PathBuf,
    /// Folder of photographs (JPEG or PNG) to run the models on
    #[arg(long)]
    images: PathBuf,
    /// Threads per model, as the server gives each job
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Passes over the images after an untimed warm-up
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Models folder holding the CLIP model to time (none: CLIP is left out)
    #[arg(long)]
    clip_models: Option<PathBuf>,
    /// The CLIP model in that folder
    #[arg(long, default_value = "bench-ViT-B-32")]
    clip_model: String,
}

/// The query a search embeds, as the Python side times it.
const QUERY: &str = "a dog playing on the beach at sunset";
const QUERIES: u32 = 20;

pub fn run(args: MlArgs) -> anyhow::Result<()> {
    let images = load(&args.images)?;
    let baseline = rss_mib();
    let runtime = Runtime::load(&args.ml_dir.join("runtime/libonnxruntime.so"), args.threads)?;
    let store = ModelStore::new(args.ml_dir.join("models"));
    let ocr = Ocr::new(&runtime, &store, "PP-OCRv6_small")?;
    let faces = FaceDetector::new(&runtime, &store, "mtcnn")?;
    let settings = Settings::default();

    let (ocr_rate, lines) = timed(&images, args.rounds, |image| Ok(ocr.read(image, &settings)?.len()))?;
    let (face_rate, found) = timed(&images, args.rounds, |image| Ok(faces.detect(image, 0.7)?.len()))?;
    let loaded = rss_mib();
    let clip = match &args.clip_models {
        Some(models) => Some(Clip::new(&runtime, &ModelStore::new(models), &args.clip_model)?),
        None => None,
    };
    let clip_fields = match &clip {
        Some(clip) => {
            let (rate, _) = timed(&images, args.rounds, |image| {
                clip.encode_image(image)?;
                Ok(0)
            })?;
            clip.encode_text(QUERY)?;
            let start = Instant::now();
            for _ in 0..QUERIES {
                clip.encode_text(QUERY)?;
            }
            let query_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(QUERIES);
            format!(
                "\tclip_images_per_s={rate:.2}\tclip_query_ms={query_ms:.1}\tclip_rss_loaded_mib={:.0}",
                rss_mib()
            )
        }
        None => String::new(),
    };
    ocr.unload_if_idle(Duration::ZERO);
    faces.unload_if_idle(Duration::ZERO);
    if let Some(clip) = &clip {
        clip.unload_if_idle(Duration::ZERO);
    }
    let unloaded = rss_mib();
    println!(
        "shoebox\timages={}\tthreads={}\tocr_images_per_s={ocr_rate:.2}\tocr_lines={lines}\tfaces_images_per_s={face_rate:.2}\tfaces={found}\trss_before_mib={baseline:.0}\trss_loaded_mib={loaded:.0}{clip_fields}\trss_unloaded_mib={unloaded:.0}",
        images.len(),
        args.threads,
    );
    Ok(())
}

/// Images per second over `rounds` passes after a warm-up pass, and what
/// one pass found (lines or faces), to check both sides found the same.
fn timed(images: &[RgbImage], rounds: usize, mut f: impl FnMut(&RgbImage) -> anyhow::Result<usize>) -> anyhow::Result<(f64, usize)> {
    let mut found = 0;
    for image in images {
        found += f(image)?;
    }
    let start = Instant::now();
    for _ in 0..rounds {
        for image in images {
            f(image)?;
        }
    }
    Ok(((images.len() * rounds) as f64 / start.elapsed().as_secs_f64(), found))
}

/// The images as the jobs see them: previews, at most 1440 px on the
/// longer side.
fn load(folder: &Path) -> anyhow::Result<Vec<RgbImage>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("reading {}", folder.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().to_str().unwrap_or("")))
        })
        .collect();
    paths.sort();
    ensure!(!paths.is_empty(), "no JPEG or PNG files in {}", folder.display());
    paths
        .iter()
        .map(|p| {
            let image = image::open(p).with_context(|| format!("{}", p.display()))?;
            Ok(image.resize(1440, 1440, image::imageops::FilterType::Triangle).into_rgb8())
        })
        .collect()
}

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}
