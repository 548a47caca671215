//! Timeline latency on a large catalog: seeds N assets straight into the
//! catalog (spread over twenty years, with EXIF rows), starts the server on
//! it, and times `GET /api/timeline/buckets` and `GET /api/timeline/bucket`
//! over HTTP on loopback.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use reqwest::blocking::Client;
use serde_json::Value;
use shoebox_catalog::rusqlite::{Connection, params};

use crate::server::{empty_library, rss_kib, start};

#[derive(clap::Args)]
pub struct TimelineArgs {
    /// Assets in the seeded library
    #[arg(long, default_value_t = 100_000)]
    assets: usize,
    /// Requests timed per endpoint
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// The server binary
    #[arg(long, default_value = "target/release/shoeboxd")]
    pub server: PathBuf,
    /// Keep the seeded library in this folder, and time the one already
    /// there instead of seeding again (a million assets take minutes)
    #[arg(long)]
    data: Option<PathBuf>,
}

const YEAR_MS: i64 = 365 * 86_400_000;

pub fn run(args: TimelineArgs) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir()?;
    let data = args.data.as_deref().unwrap_or(temporary.path());
    let client = Client::builder().timeout(Duration::from_secs(60)).build()?;
    let seeded = Instant::now();
    let token = seeded_library(&args, data, &client)?;
    let seed_time = seeded.elapsed();

    let mut server = start(&args.server, data)?;
    let url = server.url.clone();
    // Timed to the response's last byte: parsing it is the client's work.
    let get = |path: &str| -> anyhow::Result<(Duration, Value)> {
        let t = Instant::now();
        let body = client
            .get(format!("{url}{path}"))
            .bearer_auth(&token)
            .send()?
            .error_for_status()?
            .bytes()?;
        let elapsed = t.elapsed();
        Ok((elapsed, serde_json::from_slice(&body)?))
    };
    let (_, buckets) = get("/api/timeline/buckets")?;
    let months: Vec<String> = buckets
        .as_array()
        .context("buckets")?
        .iter()
        .filter_map(|b| b["timeBucket"].as_str().map(String::from))
        .collect();
    let total: i64 = buckets.as_array().unwrap().iter().filter_map(|b| b["count"].as_i64()).sum();
    anyhow::ensure!(total == args.assets as i64, "buckets count {total} assets, seeded {}", args.assets);

    let mut list = Vec::new();
    for _ in 0..args.requests {
        list.push(get("/api/timeline/buckets")?.0);
    }
    let mut rng = rand::rng();
    let mut month = Vec::new();
    let mut per_month = 0;
    for _ in 0..args.requests {
        let key = &months[rng.random_range(0..months.len())];
        let (t, body) = get(&format!("/api/timeline/bucket?timeBucket={key}"))?;
        per_month = per_month.max(body["id"].as_array().map_or(0, Vec::len));
        month.push(t);
    }
    let rss = rss_kib(server.child.id())?;
    server.child.kill()?;
    let _ = server.child.wait();

    println!("| measure ({} assets, {} months) | p50 | p95 |", args.assets, months.len());
    println!("|---|---|---|");
    println!("| GET /api/timeline/buckets | {} | {} |", ms(&mut list, 50), ms(&mut list, 95));
    println!(
        "| GET /api/timeline/bucket (one month, up to {per_month} assets) | {} | {} |",
        ms(&mut month, 50),
        ms(&mut month, 95)
    );
    println!();
    println!(
        "seeding took {:.1} s; server RSS after the run {:.1} MiB",
        seed_time.as_secs_f64(),
        rss as f64 / 1024.0
    );
    Ok(())
}

/// The admin's token for a library of `args.assets` assets in `data`:
/// the one a previous run left there, or a new one.
fn seeded_library(args: &TimelineArgs, data: &Path, client: &Client) -> anyhow::Result<String> {
    let saved = data.join("bench-library.json");
    if let Ok(text) = std::fs::read_to_string(&saved) {
        let library: Value = serde_json::from_str(&text)?;
        anyhow::ensure!(
            library["assets"].as_u64() == Some(args.assets as u64),
            "{} holds a library of {} assets, not {}: name another folder",
            data.display(),
            library["assets"],
            args.assets
        );
        return Ok(library["token"].as_str().context("token")?.to_string());
    }
    let (token, owner) = empty_library(&args.server, data, client)?;
    seed(&data.join("db/shoebox.db"), &owner, args.assets)?;
    std::fs::write(saved, serde_json::json!({"assets": args.assets, "token": token}).to_string())?;
    Ok(token)
}

pub fn ms(samples: &mut [Duration], pct: usize) -> String {
    samples.sort();
    let i = ((samples.len() * pct).div_ceil(100)).clamp(1, samples.len()) - 1;
    format!("{:.2} ms", samples[i].as_secs_f64() * 1000.0)
}

/// Inserts assets the way uploads would leave them after processing,
/// through the catalog's own schema (its triggers keep the month counts).
pub fn seed(db: &std::path::Path, owner: &str, n: usize) -> anyhow::Result<()> {
    let mut conn = Connection::open(db)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    {
        let mut asset = tx.prepare(
            "INSERT INTO assets (id, owner_id, checksum, kind, original_path, original_file_name, mime_type, file_size,
                file_created_at, file_modified_at, taken_at, local_taken_at, width, height, has_metadata,
                thumbnail_path, preview_path, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'IMAGE', ?4, ?5, 'image/jpeg', 3000000, ?6, ?6, ?6, ?6, 4000, 3000, 1, ?7, ?8, ?9, ?9)",
        )?;
        let mut exif =
            tx.prepare("INSERT INTO exif (asset_id, make, model, latitude, longitude) VALUES (?1, 'Canon', 'EOS R6', ?2, ?3)")?;
        let mut rng = rand::rng();
        let now = 1_750_000_000_000i64;
        for i in 0..n {
            let id = uuid::Uuid::new_v4().to_string();
            let taken = now - rng.random_range(0..20 * YEAR_MS);
            asset.execute(params![
                id,
                owner,
                (i as u64).to_be_bytes().to_vec(),
                format!("library/{owner}/{}/{id}.jpg", &id[..2]),
                format!("IMG_{i:07}.jpg"),
                taken,
                format!("cache/thumbs/{id}-thumbnail.webp"),
                format!("cache/thumbs/{id}-preview.jpeg"),
                now
            ])?;
            exif.execute(params![id, rng.random_range(-60.0..60.0), rng.random_range(-180.0..180.0)])?;
        }
    }
    tx.commit()?;
    Ok(())
}
