//! Serves `org.shoebox.Storage1` on the system bus (or the bus given) until
//! SIGTERM or SIGINT.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

use shoebox_storaged::pool::Pool;
use shoebox_storaged::service::{BUS_NAME, Config, OBJECT_PATH, Storage};
use shoebox_storaged::snapshots::Retention;
use tokio::signal::unix::{SignalKind, signal};

/// The Shoebox storage service: disks, pool, snapshots, backup.
#[derive(Parser)]
#[command(name = "shoebox-storaged", version, about)]
struct Args {
    /// D-Bus address to serve on instead of the system bus (tests)
    #[arg(long)]
    bus_address: Option<String>,
    /// Where the pool is mounted: shoeboxd's data folder, whose db/,
    /// library/ and cache/ become the pool's subvolumes
    #[arg(long, default_value = "/data/shoebox")]
    pool_mount: PathBuf,
    /// Where the service remembers its pool; on the appliance this is on the
    /// data partition, so it survives an A/B update of the root file system
    #[arg(long, default_value = "/var/lib/shoebox-storaged")]
    state_dir: PathBuf,
    /// Offer loop devices as disks (disk images: tests, trying a pool out)
    #[arg(long)]
    include_loop_devices: bool,
    /// Where backup disks (USB disks outside the pool) are mounted, one
    /// folder per file system
    #[arg(long, default_value = "/media/shoebox")]
    backup_disks_dir: PathBuf,
    /// Snapshots kept: the newest of each of the last N hours
    #[arg(long, default_value_t = Retention::default().hourly)]
    keep_hourly: usize,
    /// ... of each of the last N days
    #[arg(long, default_value_t = Retention::default().daily)]
    keep_daily: usize,
    /// ... of each of the last N weeks
    #[arg(long, default_value_t = Retention::default().weekly)]
    keep_weekly: usize,
    /// ... of each of the last N months
    #[arg(long, default_value_t = Retention::default().monthly)]
    keep_monthly: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let storage = Storage::new(Config {
        pool: Pool {
            mount: args.pool_mount,
            state_file: args.state_dir.join("pool.json"),
        },
        backup_file: args.state_dir.join("backup.json"),
        include_loop: args.include_loop_devices,
        backup_disks: args.backup_disks_dir,
        retention: Retention {
            hourly: args.keep_hourly,
            daily: args.keep_daily,
            weekly: args.keep_weekly,
            monthly: args.keep_monthly,
        },
    });
    // Before taking the bus name: shoeboxd starts after the service is on
    // the bus and must find its data folder on the pool.
    if let Err(e) = storage.mount_pool() {
        tracing::error!(error = %e, "the pool could not be mounted; PoolStatus tells the admin");
    }
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let builder = match &args.bus_address {
        Some(address) => zbus::connection::Builder::address(address.as_str())?,
        None => zbus::connection::Builder::system()?,
    };
    let _connection = builder
        .name(BUS_NAME)?
        .serve_at(OBJECT_PATH, storage)?
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
