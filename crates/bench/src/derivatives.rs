//! Derivative generation on a corpus of real photographs: Shoebox's
//! thumbnail and preview, one decode each, at Immich's sizes and quality.
//! `compare-derivatives.sh` runs this beside libvips' `vipsthumbnail` and
//! sharp (the library Immich uses) on the same files and prints one table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, ensure};
use shoebox_media::thumbnail::{self, DerivativeSizes};

#[derive(clap::Args)]
pub struct DerivativesArgs {
    /// Folder of JPEG photographs
    #[arg(long)]
    corpus: PathBuf,
    /// Passes over the corpus (the first warms the page cache)
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Photos processed at once
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

pub fn run(args: DerivativesArgs) -> anyhow::Result<()> {
    // As shoeboxd sets it for its job threads.
    shoebox_allocator::reuse_large_buffers();
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&args.corpus)
        .with_context(|| format!("reading {}", args.corpus.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    photos.sort();
    ensure!(!photos.is_empty(), "no JPEG files in {}", args.corpus.display());
    let out = tempfile::tempdir()?;
    // Warm-up pass, untimed: the page cache and the allocator settle.
    process(&photos, out.path(), args.threads)?;
    let start = Instant::now();
    for _ in 0..args.rounds {
        process(&photos, out.path(), args.threads)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let images = (photos.len() * args.rounds) as f64;
    let rss_mib = peak_rss_kib() as f64 / 1024.0;
    println!(
        "shoebox\tphotos={}\tthreads={}\timages_per_s={:.2}\tpeak_rss_mib={rss_mib:.1}",
        photos.len(),
        args.threads,
        images / seconds
    );
    Ok(())
}

/// Every photo once, split over `threads` threads.
fn process(photos: &[PathBuf], out: &Path, threads: usize) -> anyhow::Result<()> {
    let chunk = photos.len().div_ceil(threads.max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = photos
            .chunks(chunk)
            .enumerate()
            .map(|(worker, part)| scope.spawn(move || part.iter().try_for_each(|photo| one(photo, out, worker))))
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("worker panicked"))
    })
}

fn one(photo: &Path, out: &Path, worker: usize) -> anyhow::Result<()> {
    let (thumb, preview) = (out.join(format!("{worker}-thumb.webp")), out.join(format!("{worker}-preview.jpeg")));
    thumbnail::generate(photo, ".jpg", None, &thumb, &preview, DerivativeSizes::default())
        .with_context(|| format!("{}", photo.display()))?;
    Ok(())
}

fn peak_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).map_or(0, |u| u.max_rss())
}
