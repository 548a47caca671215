//! Serves `org.shoebox.Storage1` on the system bus (or the bus given) until
//! SIGTERM or SIGINT.

use anyhow::Context;
use clap::Parser;
use shoebox_storaged::service::{BUS_NAME, OBJECT_PATH, Storage};
use tokio::signal::unix::{SignalKind, signal};

/// The Shoebox storage service: disks, pool, snapshots, backup.
#[derive(Parser)]
#[command(name = "shoebox-storaged", version, about)]
struct Args {
    /// D-Bus address to serve on instead of the system bus (tests)
    #[arg(long)]
    bus_address: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let builder = match &args.bus_address {
        Some(address) => zbus::connection::Builder::address(address.as_str())?,
        None => zbus::connection::Builder::system()?,
    };
    let _connection = builder
        .name(BUS_NAME)?
        .serve_at(OBJECT_PATH, Storage)?
        .build()
        .await
        .with_context(|| format!("cannot own {BUS_NAME} on the bus: run as root, with the Shoebox D-Bus policy installed"))?;
    tracing::info!(name = BUS_NAME, "serving");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}
