//! Starting the real server for a benchmark, and reading its memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::blocking::Client;
use serde_json::{Value, json};

pub struct Server {
    pub child: Child,
    pub url: String,
    pub started_in: Duration,
}

pub fn start(binary: &Path, data: &Path) -> anyhow::Result<Server> {
    start_with(binary, data, &[])
}

/// The server with more command-line arguments (a config file, say).
pub fn start_with(binary: &Path, data: &Path, extra: &[&str]) -> anyhow::Result<Server> {
    let t0 = Instant::now();
    let mut child = Command::new(binary)
        .args(extra)
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

pub fn admin(client: &Client, url: &str) -> anyhow::Result<String> {
    let creds = json!({"email": "bench@example.com", "name": "Bench", "password": "benchmark password"});
    client
        .post(format!("{url}/api/auth/admin-sign-up"))
        .json(&creds)
        .send()?
        .error_for_status()?;
    let r: Value = client.post(format!("{url}/api/auth/login")).json(&creds).send()?.json()?;
    Ok(r["accessToken"].as_str().context("no token")?.to_string())
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}

/// A fresh data folder with the schema and an admin: the server is started
/// once and stopped, so a benchmark can seed the catalog directly. The
/// admin's token (sessions outlive the restart) and user id.
pub fn empty_library(binary: &Path, data: &Path, client: &Client) -> anyhow::Result<(String, String)> {
    let mut server = start(binary, data)?;
    let token = admin(client, &server.url)?;
    let me: Value = client
        .get(format!("{}/api/users/me", server.url))
        .bearer_auth(&token)
        .send()?
        .json()?;
    let owner = me["id"].as_str().context("user id")?.to_string();
    server.child.kill()?;
    server.child.wait()?;
    Ok((token, owner))
}
