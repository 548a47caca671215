//! shoeboxd: parse the settings and hand over to the server library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = shoebox_server::Args::parse();
    let health_check = args.health_check;
    let config = shoebox_server::Config::load(args)?;
    shoebox_server::init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Some(seconds) = health_check {
        let healthy = runtime.block_on(shoebox_server::health_check(&config, std::time::Duration::from_secs(seconds)));
        std::process::exit(if healthy { 0 } else { 1 });
    }
    let stopped = runtime.block_on(shoebox_server::run(config));
    // A blocking task still waiting on the runtime (a D-Bus reply during a
    // stop) must not keep the process from exiting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    let stopped = stopped?;
    if stopped == shoebox_server::Stopped::ToRestart {
        tracing::info!("stopped to be started again");
        std::process::exit(shoebox_server::RESTART_EXIT_CODE);
    }
    Ok(())
}
