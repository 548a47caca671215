//! Builds the browser UI (`web/build.sh`) so that `cargo run` serves it.
//! Without Node.js the server still builds, with a page that says how to
//! get the UI. Image builds that build the UI separately (Yocto's
//! shoebox-web recipe) pass its files in `SHOEBOX_WEB_DIST` instead.

use std::path::Path;
use std::process::Command;

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    for input in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "build.sh",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    let dist = web.join("dist");
    println!("cargo:rerun-if-env-changed=SHOEBOX_WEB_DIST");
    if let Some(prebuilt) = std::env::var_os("SHOEBOX_WEB_DIST") {
        println!("cargo:rerun-if-changed={}", Path::new(&prebuilt).display());
        copy_tree(Path::new(&prebuilt), &dist).expect("copy SHOEBOX_WEB_DIST into web/dist");
        return;
    }
    let built = match Command::new("bash").arg(web.join("build.sh")).status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            println!("cargo:warning=web/build.sh failed ({status}); the web UI in this build may be stale or missing");
            false
        }
        Err(e) => {
            println!("cargo:warning=could not run web/build.sh ({e}); the web UI is missing from this build");
            false
        }
    };
    if !built && !dist.join("index.html").exists() {
        std::fs::create_dir_all(&dist).expect("create web/dist");
        std::fs::write(dist.join("index.html"), PLACEHOLDER).expect("write web/dist/index.html");
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

const PLACEHOLDER: &str = "<!doctype html><title>Shoebox</title><p>The web UI was not built into this server. \
Install Node.js 20 or newer, then rebuild with <code>cargo build --release</code> (it runs <code>web/build.sh</code>). \
The Immich apps and CLI work without it.</p>";
