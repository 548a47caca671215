//! Search by content on a large library: seeds N assets with random
//! 512-dimensional embeddings (CLIP ViT-B-32's size) straight into the
//! catalog, starts the server with ci/fetch-ml.sh's runtime and test-clip
//! model, and times `POST /api/search/smart` over HTTP on loopback: by a
//! query in words (tokenised and embedded on request, then ranked) and by
//! a photo (ranked only). Memory is read before the first search loads the
//! index and after the run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use shoebox_catalog::rusqlite::{Connection, params};

use crate::server::{empty_library, rss_kib, start_with};
use crate::timeline::{ms, seed};

#[derive(clap::Args)]
pub struct SmartSearchArgs {
    /// Assets with embeddings in the seeded library
    #[arg(long, default_value_t = 100_000)]
    assets: usize,
    /// Requests timed per kind of search
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// What ci/fetch-ml.sh unpacked: runtime/, models/test-clip
    #[arg(long, default_value = "target/ml")]
    ml_dir: PathBuf,
    /// The server binary
    #[arg(long, default_value = "target/release/shoeboxd")]
    server: PathBuf,
}

const MODEL: &str = "test-clip";
const DIM: usize = 512;

pub fn run(args: SmartSearchArgs) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let client = Client::builder().timeout(Duration::from_secs(120)).build()?;
    let (token, owner) = empty_library(&args.server, data.path(), &client)?;

    let db = data.path().join("db/shoebox.db");
    seed(&db, &owner, args.assets)?;
    embed(&db)?;
    let config = data.path().join("ml.toml");
    let ml = std::fs::canonicalize(&args.ml_dir).context("run ci/fetch-ml.sh first")?;
    std::fs::write(
        &config,
        format!(
            "[ml]\nruntime = {:?}\nmodels_dir = {:?}\nclip_model = \"{MODEL}\"\nocr_model = \"\"\nface_model = \"\"\n",
            ml.join("runtime/libonnxruntime.so"),
            ml.join("models")
        ),
    )?;
    let mut server = start_with(&args.server, data.path(), &["--config", config.to_str().context("utf-8 path")?])?;
    let before = rss_kib(server.child.id())?;
    let url = server.url.clone();
    let search = |body: Value| -> anyhow::Result<(Duration, Value)> {
        let t = Instant::now();
        let found: Value = client
            .post(format!("{url}/api/search/smart"))
            .bearer_auth(&token)
            .json(&body)
            .send()?
            .error_for_status()?
            .json()?;
        Ok((t.elapsed(), found))
    };
    let (first, found) = search(json!({ "query": "a red car", "size": 100 }))?;
    let some = found["assets"]["items"][0]["id"].as_str().context("no result")?.to_string();
    let indexed = rss_kib(server.child.id())?;

    let queries = [
        "a red car",
        "children on a beach at sunset",
        "birthday cake",
        "snow in the mountains",
    ];
    let mut by_text = Vec::new();
    for i in 0..args.requests {
        by_text.push(search(json!({ "query": queries[i % queries.len()], "size": 100 }))?.0);
    }
    let mut by_photo = Vec::new();
    for _ in 0..args.requests {
        by_photo.push(search(json!({ "queryAssetId": some, "size": 100 }))?.0);
    }
    let mut filtered = Vec::new();
    for _ in 0..args.requests {
        filtered.push(search(json!({ "query": "a red car", "size": 100, "isFavorite": true }))?.0);
    }
    let after = rss_kib(server.child.id())?;
    server.child.kill()?;
    let _ = server.child.wait();

    println!("| POST /api/search/smart ({} embeddings of {DIM}) | p50 | p95 |", args.assets);
    println!("|---|---|---|");
    println!(
        "| by words (embedded on request), first 100 | {} | {} |",
        ms(&mut by_text, 50),
        ms(&mut by_text, 95)
    );
    println!(
        "| more like a photo, first 100 | {} | {} |",
        ms(&mut by_photo, 50),
        ms(&mut by_photo, 95)
    );
    println!(
        "| by words among favourites (none match: every candidate checked) | {} | {} |",
        ms(&mut filtered, 50),
        ms(&mut filtered, 95)
    );
    println!();
    println!(
        "first search (reads every embedding into the index): {:.0} ms; server RSS before it {:.1} MiB, after it {:.1} MiB, after the run {:.1} MiB",
        first.as_secs_f64() * 1000.0,
        before as f64 / 1024.0,
        indexed as f64 / 1024.0,
        after as f64 / 1024.0
    );
    Ok(())
}

/// A random unit-length embedding for every seeded asset.
fn embed(db: &std::path::Path) -> anyhow::Result<()> {
    let mut conn = Connection::open(db)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    {
        let ids: Vec<String> = tx
            .prepare("SELECT id FROM assets")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut insert = tx.prepare("INSERT INTO asset_embeddings (asset_id, model, embedding) VALUES (?1, ?2, ?3)")?;
        let mut done = tx.prepare("UPDATE assets SET smart_search_at = 1 WHERE id = ?1")?;
        let mut rng = rand::rng();
        for id in ids {
            let vector: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
            let bytes: Vec<u8> = vector.iter().flat_map(|v| (v / norm).to_le_bytes()).collect();
            insert.execute(params![id, MODEL, bytes])?;
            done.execute([&id])?;
        }
    }
    tx.commit()?;
    Ok(())
}
