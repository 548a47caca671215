//! Measures a real `shoeboxd` from outside, as the Immich CLI would use it:
//! idle memory, ingest throughput through `POST /api/assets`, memory while
//! ingesting, and how fast the job queue turns uploads into thumbnails.
//!
//!   cargo build --release && target/release/shoebox-bench --photos 1000
//!
//! Photos are generated (camera-sized JPEGs with noise, so they compress
//! like real ones); timing is wall clock on this machine.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rand::Rng;
use reqwest::blocking::{Client, multipart};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
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
    server: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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

struct Server {
    child: Child,
    url: String,
    started_in: Duration,
}

fn start(binary: &Path, data: &Path) -> anyhow::Result<Server> {
    let t0 = Instant::now();
    let mut child = Command::new(binary)
        .args([
            "--data-dir",
            data.to_str().context("utf-8 path")?,
            "--port",
            "0",
            "--listen",
            "127.0.0.1",
            "--log-format",
            "json",
        ])
        .env("RUST_LOG", "warn,shoebox_server=info")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} (build it with cargo build --release)", binary.display()))?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().context("server exited")??;
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if let Some(a) = v["fields"]["address"].as_str() {
            break a.to_string();
        }
    };
    let started_in = t0.elapsed();
    std::thread::spawn(move || for _ in lines {});
    Ok(Server {
        child,
        url: format!("http://{address}"),
        started_in,
    })
}

fn admin(client: &Client, url: &str) -> anyhow::Result<String> {
    let creds = json!({"email": "bench@example.com", "name": "Bench", "password": "benchmark password"});
    client
        .post(format!("{url}/api/auth/admin-sign-up"))
        .json(&creds)
        .send()?
        .error_for_status()?;
    let r: Value = client.post(format!("{url}/api/auth/login")).json(&creds).send()?.json()?;
    Ok(r["accessToken"].as_str().context("no token")?.to_string())
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

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}
