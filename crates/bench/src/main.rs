//! Benchmarks of a real `shoeboxd`, measured from outside as a client
//! would see it. Timing is wall clock on the machine it runs on.
//!
//!   cargo build --release -p shoebox-server -p shoebox-bench
//!   target/release/shoebox-bench ingest --photos 1000
//!   target/release/shoebox-bench timeline --assets 1000000
//!   target/release/shoebox-bench video
//!   target/release/shoebox-bench ml --images DIR
//!   target/release/shoebox-bench smart-search --assets 100000
//!   crates/bench/compare-ml.sh           (OCR and faces vs RapidOCR and mtcnn in Python)
//!   crates/bench/compare-derivatives.sh   (derivatives vs vipsthumbnail and sharp)

mod derivatives;
mod ingest;
mod ml;
mod server;
mod smart_search;
mod timeline;
mod video;

use clap::Parser;

#[derive(Parser)]
enum Bench {
    /// Thumbnail and preview generation on a folder of photographs
    Derivatives(derivatives::DerivativesArgs),
    /// Upload throughput, thumbnail throughput and memory
    Ingest(ingest::IngestArgs),
    /// OCR and face detection speed and memory, in-process
    Ml(ml::MlArgs),
    /// Search by content latency and memory on a large seeded catalog
    SmartSearch(smart_search::SmartSearchArgs),
    /// Timeline query latency on a large seeded catalog
    Timeline(timeline::TimelineArgs),
    /// Transcode and poster speed against Immich's ffmpeg command
    Video(video::VideoArgs),
}

fn main() -> anyhow::Result<()> {
    match Bench::parse() {
        Bench::Derivatives(args) => derivatives::run(args),
        Bench::Ingest(args) => ingest::run(args),
        Bench::Ml(args) => ml::run(args),
        Bench::SmartSearch(args) => smart_search::run(args),
        Bench::Timeline(args) => timeline::run(args),
        Bench::Video(args) => video::run(args),
    }
}
