//! Ingest: idle memory, upload throughput through `POST /api/assets`,
//! memory while ingesting, and how fast the job queue turns uploads into
//! thumbnails. Photos are generated camera-sized JPEGs with noise, so they
//! compress like real ones.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use rand::Rng;
use reqwest::blocking::{Client, multipart};
use serde_json::Value;

use crate::server::{admin, rss_kib, start};

#[derive(clap::Args)]
pub struct IngestArgs {
    /// How many photos to ingest
    #[arg(long, default_value_t = 1000)]
    photos: usize,
    /// Photo width × height in pixels
    #[arg(long, default_value_t = 4000)]
    width: u32,
    #[arg(long, default_value_t = 3000)]
    height: u32,
    /// Distinct source images (each upload alters a few bytes to stay unique)
    #[arg(long, default_value_t = 8)]
    distinct: usize,
    /// Parallel uploads, like the CLI's --concurrency
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The server binary
    #[arg(long, default_value = "target/release/shoeboxd")]
    pub server: PathBuf,
}

pub fn run(args: IngestArgs) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = start(&args.server, data.path())?;
    let pid = server.child.id();
    let client = Client::builder().timeout(Duration::from_secs(300)).build()?;
    let url = server.url.clone();
    let token = admin(&client, &url)?;

    std::thread::sleep(Duration::from_secs(2)); // let start-up allocations settle before the idle sample
    let idle_rss = rss_kib(pid)?;
    let cold_start = server.started_in;

    eprintln!("generating {} distinct {}x{} JPEGs…", args.distinct, args.width, args.height);
    let sources: Vec<Vec<u8>> = (0..args.distinct).map(|i| photo(args.width, args.height, i as u8)).collect();

    let peak = Arc::new(AtomicU64::new(idle_rss));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let next = Arc::new(Mutex::new(0usize));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.concurrency {
            let (next, bytes, sources, client, url, token) = (next.clone(), bytes.clone(), &sources, &client, &url, &token);
            scope.spawn(move || {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        if *n >= args.photos {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let mut body = sources[i % sources.len()].clone();
                    // Unique bytes per upload (a trailing comment after EOI) so none is a duplicate.
                    body.extend_from_slice(format!("shoebox-bench-{i}").as_bytes());
                    bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    let form = multipart::Form::new()
                        .text("fileCreatedAt", "2024-01-01T00:00:00.000Z")
                        .text("fileModifiedAt", "2024-01-01T00:00:00.000Z")
                        .part("assetData", multipart::Part::bytes(body).file_name(format!("IMG_{i:05}.jpg")));
                    let r = client
                        .post(format!("{url}/api/assets"))
                        .bearer_auth(token)
                        .multipart(form)
                        .send()
                        .expect("upload");
                    assert_eq!(r.status(), 201, "upload {i}");
                }
            });
        }
    });
    let ingest = start.elapsed();
    let ingest_peak = peak.load(Ordering::Relaxed);
    let total_bytes = bytes.load(Ordering::Relaxed);

    let r: Value = client
        .get(format!("{url}/api/shoebox/jobs/wait-idle?timeoutSeconds=300"))
        .bearer_auth(&token)
        .send()?
        .json()?;
    if r["idle"] != true {
        bail!("jobs did not finish: {r}");
    }
    let processed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let overall_peak = peak.load(Ordering::Relaxed);
    let failed = r["failed"].as_i64().unwrap_or(-1);
    server.child.kill()?;
    let _ = server.child.wait();

    let mb = total_bytes as f64 / 1e6;
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| photos ingested | {} ({}x{} JPEG, {:.1} MB each) |",
        args.photos,
        args.width,
        args.height,
        mb / args.photos as f64
    );
    println!("| cold start (exec → listening) | {} ms |", cold_start.as_millis());
    println!("| RSS idle | {:.1} MiB |", idle_rss as f64 / 1024.0);
    println!(
        "| ingest ({} parallel uploads) | {:.1} files/s, {:.1} MB/s |",
        args.concurrency,
        args.photos as f64 / ingest.as_secs_f64(),
        mb / ingest.as_secs_f64()
    );
    println!("| RSS peak while ingesting | {:.1} MiB |", ingest_peak as f64 / 1024.0);
    println!(
        "| metadata + thumbnail + preview, end to end | {:.2} photos/s ({:.1} s for all) |",
        args.photos as f64 / processed.as_secs_f64(),
        processed.as_secs_f64()
    );
    println!(
        "| RSS peak overall (ingest + thumbnails) | {:.1} MiB |",
        overall_peak as f64 / 1024.0
    );
    println!("| failed jobs | {failed} |");
    Ok(())
}

fn photo(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut rng = rand::rng();
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let n: u8 = rng.random_range(0..24);
        image::Rgb([
            ((x / 16) as u8).wrapping_add(n),
            ((y / 12) as u8).wrapping_add(seed.wrapping_mul(31)),
            n.wrapping_mul(5),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode");
    out.into_inner()
}
