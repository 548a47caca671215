//! shoeboxd: parse the settings and hand over to the server library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let config = shoebox_server::Config::load(shoebox_server::Args::parse())?;
    shoebox_server::init_logging(&config);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(shoebox_server::run(config))
}
