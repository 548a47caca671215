//! Settings: command line, then environment, then the TOML config file,
//! then defaults that work in a fresh checkout.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use serde::Deserialize;

/// Shoebox: a self-hosted photo and video library that the Immich apps and CLI can use.
#[derive(Debug, Parser)]
#[command(name = "shoeboxd", version, about, long_about = None)]
pub struct Args {
    /// Folder holding the catalog, originals and derived files
    /// [default: $XDG_DATA_HOME/shoebox, i.e. ~/.local/share/shoebox]
    #[arg(long, env = "SHOEBOX_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// TCP port for HTTP [default: 2283, the port the Immich apps suggest]
    #[arg(long, short, env = "SHOEBOX_PORT")]
    pub port: Option<u16>,

    /// Address to listen on [default: 0.0.0.0, every interface]
    #[arg(long, env = "SHOEBOX_LISTEN")]
    pub listen: Option<IpAddr>,

    /// TOML config file; its keys are the long option names with underscores
    /// (data_dir, port, listen, trash_days, job_concurrency, claimed_version,
    /// log_format, appliance, http_port, https_port, tls_cert, tls_key,
    /// storage_bus) plus
    /// [logging] level, and [ml] runtime (libonnxruntime.so), models_dir,
    /// clip_model, ocr_model and face_model ("" turns any off), idle_unload_seconds
    #[arg(long, short, env = "SHOEBOX_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log output: "text" for people, "json" for log collectors [default: text]
    #[arg(long, env = "SHOEBOX_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Do not serve: wait up to SECONDS for the server these settings
    /// describe to answer healthy (catalog current, storage service on the
    /// bus), and exit 0 if it does, 1 if not (the update fallback uses it)
    #[arg(long, value_name = "SECONDS")]
    pub health_check: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    port: Option<u16>,
    listen: Option<IpAddr>,
    trash_days: Option<u32>,
    job_concurrency: Option<usize>,
    claimed_version: Option<String>,
    log_format: Option<LogFormat>,
    appliance: Option<bool>,
    http_port: Option<u16>,
    https_port: Option<u16>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    storage_bus: Option<String>,
    logging: Option<Logging>,
    ml: Option<MlFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlFile {
    runtime: Option<PathBuf>,
    models_dir: Option<PathBuf>,
    clip_model: Option<String>,
    ocr_model: Option<String>,
    face_model: Option<String>,
    idle_unload_seconds: Option<u64>,
    model_hub: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Logging {
    level: Option<String>,
}

/// The settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub port: u16,
    pub listen: IpAddr,
    /// Days an asset stays in the trash before it is deleted for good.
    pub trash_days: u32,
    /// Background workers for metadata and thumbnails.
    pub job_concurrency: usize,
    /// The Immich server version we claim; the apps refuse another major.
    pub claimed_version: (u32, u32, u32),
    pub log_format: LogFormat,
    /// Default log filter when RUST_LOG is not set.
    pub log_level: String,
    /// Running on the flashed image: the library lives on disks the storage
    /// service pools, and the box announces itself by its host name.
    pub appliance: bool,
    /// A second plain-HTTP listener (port 80 on the appliance).
    pub http_port: Option<u16>,
    /// An HTTPS listener and the PEM certificate and key it serves.
    pub https: Option<Https>,
    /// D-Bus address where shoebox-storaged is found; the system bus when unset.
    pub storage_bus: Option<String>,
    pub ml: Ml,
}

/// Machine learning: where ONNX Runtime and the models are.
#[derive(Debug, Clone)]
pub struct Ml {
    /// `libonnxruntime.so`; when unset, the usual places are tried.
    pub runtime: Option<PathBuf>,
    /// Models in Immich's layout: `<name>/<detection|recognition|...>/model.onnx`.
    pub models_dir: PathBuf,
    /// The CLIP model's name; `None` turns search by content off.
    pub clip_model: Option<String>,
    /// The OCR model's name; `None` turns text recognition off.
    pub ocr_model: Option<String>,
    /// The face model's name; `None` turns face detection off.
    pub face_model: Option<String>,
    /// A model unused this long is unloaded (Immich's default: five minutes).
    pub idle_unload: std::time::Duration,
    /// Where models are downloaded from: Hugging Face's `immich-app`
    /// organisation, as Immich does (`<hub>/<model>/...`).
    pub model_hub: reqwest13::Url,
}

impl Ml {
    /// Where the runtime is looked for when the config names none: beside
    /// the binary, where the appliance installs it, and where ci/fetch-ml.sh
    /// puts it for a binary built in this repository's target folder.
    pub fn runtime_candidates(&self) -> Vec<PathBuf> {
        const NAME: &str = "libonnxruntime.so";
        if let Some(path) = &self.runtime {
            return vec![path.clone()];
        }
        let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
        let mut places: Vec<PathBuf> = beside
            .iter()
            .flat_map(|dir| [dir.join(NAME), dir.join("../ml/runtime").join(NAME)])
            .collect();
        places.extend(["/usr/lib/shoebox", "/usr/local/lib", "/usr/lib"].map(|dir| Path::new(dir).join(NAME)));
        places
    }
}

#[derive(Debug, Clone)]
pub struct Https {
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A model repository: `<hub>/api/models/<organisation>` lists a model's
/// files, `<hub>/<organisation>/<model>/resolve/main/...` serves them.
fn model_hub(address: &str) -> anyhow::Result<reqwest13::Url> {
    let url = reqwest13::Url::parse(address.trim_end_matches('/'))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.path_segments().is_some_and(|s| s.count() == 1))
        .with_context(|| {
            format!(
                "model_hub {address:?} in the config file is not a model repository address such as \"https://huggingface.co/immich-app\""
            )
        })?;
    Ok(url)
}

impl Config {
    pub fn load(args: Args) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = args.data_dir.or(file.data_dir).map_or_else(default_data_dir, Ok)?;
        let version = file.claimed_version.as_deref().unwrap_or("3.0.0");
        let ml = file.ml.unwrap_or_default();
        let ml = Ml {
            runtime: ml.runtime,
            models_dir: ml.models_dir.unwrap_or_else(|| data_dir.join("models")),
            clip_model: Some(ml.clip_model.unwrap_or_else(|| "ViT-B-32__openai".into())).filter(|m| !m.is_empty()),
            ocr_model: Some(ml.ocr_model.unwrap_or_else(|| "PP-OCRv5_mobile".into())).filter(|m| !m.is_empty()),
            face_model: Some(ml.face_model.unwrap_or_else(|| "buffalo_l".into())).filter(|m| !m.is_empty()),
            idle_unload: std::time::Duration::from_secs(ml.idle_unload_seconds.unwrap_or(300)),
            model_hub: model_hub(ml.model_hub.as_deref().unwrap_or("https://huggingface.co/immich-app"))?,
        };
        Ok(Config {
            data_dir,
            port: args.port.or(file.port).unwrap_or(2283),
            listen: args.listen.or(file.listen).unwrap_or(IpAddr::from([0, 0, 0, 0])),
            trash_days: file.trash_days.unwrap_or(30),
            job_concurrency: file.job_concurrency.unwrap_or_else(default_concurrency),
            claimed_version: parse_version(version)
                .with_context(|| format!("claimed_version {version:?} in the config file is not MAJOR.MINOR.PATCH"))?,
            log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
            log_level: file.logging.and_then(|l| l.level).unwrap_or_else(|| "info".into()),
            appliance: file.appliance.unwrap_or(false),
            http_port: file.http_port.filter(|&p| p != 0),
            https: https(file.https_port, file.tls_cert, file.tls_key)?,
            storage_bus: file.storage_bus,
            ml,
        })
    }
}

/// Port 0 turns HTTPS off; a port without a certificate and key is a mistake.
fn https(port: Option<u16>, cert: Option<PathBuf>, key: Option<PathBuf>) -> anyhow::Result<Option<Https>> {
    match (port.filter(|&p| p != 0), cert, key) {
        (None, _, _) => Ok(None),
        (Some(port), Some(cert), Some(key)) => Ok(Some(Https { port, cert, key })),
        (Some(_), _, _) => anyhow::bail!("https_port is set in the config file: set tls_cert and tls_key too, or https_port = 0"),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("the config file {} is not valid; fix the key named above", path.display()))
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .context("no data folder given and neither XDG_DATA_HOME nor HOME is set: pass --data-dir")?;
    Ok(base.join("shoebox"))
}

/// Leave one core for the web server on small boxes.
fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.trim().trim_start_matches('v').split('.').map(|p| p.parse().ok());
    let v = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile_dir();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "port = 9000\ntrash_days = 7\ndata_dir = \"/srv/photos\"\n[logging]\nlevel = \"debug\"\n",
        )
        .unwrap();
        let args = Args::parse_from(["shoeboxd", "--config", file.to_str().unwrap(), "--port", "8080"]);
        let c = Config::load(args).unwrap();
        assert_eq!((c.port, c.trash_days, c.log_level.as_str()), (8080, 7, "debug"));
        assert_eq!(c.data_dir, PathBuf::from("/srv/photos"));
        assert_eq!(c.claimed_version, (3, 0, 0));
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_the_file() {
        let dir = tempfile_dir();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "prot = 1\n").unwrap();
        let err = Config::load(Args::parse_from(["shoeboxd", "-c", file.to_str().unwrap()])).unwrap_err();
        assert!(format!("{err:#}").contains("prot"), "{err:#}");
    }

    #[test]
    fn the_appliance_config_file_loads() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/etc/shoebox/config.toml");
        let c = Config::load(Args::parse_from(["shoeboxd", "-c", shipped.to_str().unwrap()])).unwrap();
        assert!(c.appliance);
        assert_eq!((c.port, c.http_port), (2283, Some(80)));
        let https = c.https.expect("the appliance serves HTTPS");
        assert_eq!((https.port, https.cert.to_str()), (443, Some("/var/lib/shoebox/tls/cert.pem")));
    }

    #[test]
    fn https_needs_a_certificate_and_key() {
        let dir = tempfile_dir();
        let file = dir.join("tls.toml");
        std::fs::write(&file, "https_port = 8443\n").unwrap();
        let err = Config::load(Args::parse_from(["shoeboxd", "-c", file.to_str().unwrap()])).unwrap_err();
        assert!(format!("{err:#}").contains("tls_cert"), "{err:#}");
    }

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(parse_version("v3.2.2"), Some((3, 2, 2)));
        assert_eq!(parse_version("3.2"), None);
        assert_eq!(parse_version("3.2.2.1"), None);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shoebox-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
