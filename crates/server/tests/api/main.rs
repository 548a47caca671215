//! Black-box tests of shoeboxd: each module starts real servers on real SQLite files and talks to them over HTTP, as the apps and the CLI do. One test binary, so the workspace links it once.

mod common;

mod alerts;
mod auth;
mod backup;
mod crash;
mod immich_cli;
mod jobs;
mod library;
mod listeners;
mod ml;
mod mobile_app;
mod partners;
mod schema;
mod setup;
mod shared_links;
mod sharing;
mod storage;
mod sync;
mod timeline;
mod update;
mod video;
