//! shoeboxd: parse the settings and hand over to the server library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let config = shoebox_server::Config::load(shoebox_server::Args::parse())?;
    shoebox_server::init_logging(&config);
    let stopped = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(shoebox_server::run(config))?;
    if stopped == shoebox_server::Stopped::ToRestart {
        tracing::info!("stopped to be started again");
        std::process::exit(shoebox_server::RESTART_EXIT_CODE);
    }
    Ok(())
}
