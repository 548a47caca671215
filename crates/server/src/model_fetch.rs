//! Models fetched for the admin: downloaded from the model repository
//! Immich uses (the `immich-app` organisation on Hugging Face, one
//! repository per model in the layout the models folder keeps:
//! `visual/model.onnx`, ...), or copied from a model folder on a USB disk
//! for a box without internet. The repository's file list gives each
//! file's size and, for large files, its SHA-256; each file is checked
//! against both. Files for other runtimes (`*.armnn`, `*.rknn`) are left
//! out, as Immich leaves them out for ONNX, but for the conversions for
//! this box's NPU (`<part>/rknpu/<soc>/model.rknn`); so are links on a disk.
//! A model arrives in `.incoming-<name>` beside the others and is renamed
//! into place whole, so a broken download or copy never leaves half a
//! model where the server looks; the server loads models at start, so it
//! restarts then.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use reqwest13::Url;
use serde::{Deserialize, Serialize};
use shoebox_ml::{ModelPart, ModelStore};

use crate::download::{self, Arrived};
use crate::error::{ApiError, ApiResult};
use crate::ingest::storage_error;
use crate::state::AppState;
use crate::storage_service::{storage, unavailable};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a model's file is for this box: not another runtime's (ARM NN,
/// or an NPU conversion for another chip than `soc`, this box's NPU).
fn for_this_box(path: &str, soc: Option<&str>) -> bool {
    if path.ends_with(".armnn") {
        return false;
    }
    !path.ends_with(".rknn") || soc.is_some_and(|soc| path.contains(&format!("rknpu/{soc}/")))
}

/// One entry of a repository's file list (`/api/models/<repo>/tree/main?recursive=true`).
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    lfs: Option<Lfs>,
}

#[derive(Debug, Deserialize)]
struct Lfs {
    oid: String,
}

/// A file to fetch: where it goes in the model's folder, its size and SHA-256 if known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    path: String,
    size: u64,
    sha256: Option<String>,
}

/// The download or copy running, or the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fetch {
    /// empty (none yet), downloading, copying, done (restarting to load it) or failed.
    pub state: &'static str,
    pub name: String,
    pub received: u64,
    pub total: u64,
    pub error: String,
}

/// The files of a model worth fetching, from its repository's file list.
/// A path that would leave the model's folder is refused, whole.
fn wanted(list: &[u8], soc: Option<&str>) -> Result<Vec<Wanted>, String> {
    let entries: Vec<Entry> = serde_json::from_slice(list).map_err(|e| format!("the model repository answered with no file list ({e})"))?;
    let mut files = Vec::new();
    for entry in entries.into_iter().filter(|e| e.kind == "file") {
        let plain = Path::new(&entry.path).components().all(|c| matches!(c, Component::Normal(_)));
        if !plain || entry.path.is_empty() {
            return Err(format!("the model repository names a file outside the model: {:?}", entry.path));
        }
        if !for_this_box(&entry.path, soc) {
            continue;
        }
        files.push(Wanted {
            path: entry.path,
            size: entry.size,
            sha256: entry.lfs.map(|l| l.oid.to_ascii_lowercase()),
        });
    }
    if !files.iter().any(|f| f.path.ends_with("/model.onnx")) {
        return Err("the model repository holds no ONNX model (<part>/model.onnx)".into());
    }
    Ok(files)
}

/// `<hub>`'s URL with `segments` for its path (each escaped as needed).
fn at(hub: &Url, segments: &[&str]) -> ApiResult<Url> {
    let mut url = hub.clone();
    url.path_segments_mut()
        .map_err(|()| ApiError::internal("the model hub is not a web address"))?
        .clear()
        .extend(segments);
    Ok(url)
}

/// Hugging Face's list of a model's files: `/api/models/<organisation>/<model>/tree/main`.
fn list_url(hub: &Url, name: &str) -> ApiResult<Url> {
    let organisation = hub.path_segments().and_then(|mut s| s.next()).unwrap_or_default().to_owned();
    let mut url = at(hub, &["api", "models", &organisation, name, "tree", "main"])?;
    url.set_query(Some("recursive=true"));
    Ok(url)
}

/// One file of a model: `/<organisation>/<model>/resolve/main/<path>`.
fn file_url(hub: &Url, name: &str, path: &str) -> ApiResult<Url> {
    let organisation = hub.path_segments().and_then(|mut s| s.next()).unwrap_or_default().to_owned();
    let mut segments = vec![organisation.as_str(), name, "resolve", "main"];
    segments.extend(path.split('/'));
    at(hub, &segments)
}

/// Where a model comes from.
pub enum Source {
    /// The model repository.
    Hub,
    /// A model folder on a disk plugged into the box.
    Folder(PathBuf),
}

/// Starts fetching model `name`; 409 while a fetch runs.
pub fn start(state: &AppState, name: &str, source: Source) -> ApiResult<()> {
    let store = ModelStore::new(&state.config.ml.models_dir);
    store.model_dir(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    {
        let mut fetch = state.model_fetch.lock().expect("model fetch lock");
        if matches!(fetch.state, "downloading" | "copying") {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("{} is being fetched: wait for it to finish", fetch.name),
            ));
        }
        *fetch = Fetch {
            state: match source {
                Source::Hub => "downloading",
                Source::Folder(_) => "copying",
            },
            name: name.to_owned(),
            ..Fetch::default()
        };
    }
    let (state, name) = (state.clone(), name.to_owned());
    tokio::spawn(async move {
        let outcome = match source {
            Source::Hub => download(&state, &store, &name).await,
            Source::Folder(from) => copy(&state, &store, &name, from).await,
        };
        let mut fetch = state.model_fetch.lock().expect("model fetch lock");
        match outcome {
            Ok(()) => {
                fetch.state = "done";
                tracing::info!(model = name, "model in place; restarting to load it");
                state.restart.notify_one();
            }
            Err(e) => {
                tracing::warn!(model = name, error = e.message, "fetching a model failed");
                fetch.state = "failed";
                fetch.error = e.message;
            }
        }
    });
    Ok(())
}

pub fn status(state: &AppState) -> Fetch {
    state.model_fetch.lock().expect("model fetch lock").clone()
}

async fn download(state: &AppState, store: &ModelStore, name: &str) -> ApiResult<()> {
    let hub = &state.config.ml.model_hub;
    let client = reqwest13::Client::builder()
        .connect_timeout(TIMEOUT)
        .build()
        .map_err(ApiError::internal)?;
    let unreachable = |url: &Url, e: reqwest13::Error| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "{url} cannot be read ({e}): check the box reaches the internet, or copy the model's folder into the models folder by hand"
            ),
        )
    };
    let list_url = list_url(hub, name)?;
    let list = client
        .get(list_url.clone())
        .timeout(TIMEOUT)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| match e.status() {
            Some(StatusCode::NOT_FOUND) | Some(StatusCode::UNAUTHORIZED) => {
                ApiError::bad_request(format!("The model repository has no model named {name:?}: check its name"))
            }
            _ => unreachable(&list_url, e),
        })?
        .bytes()
        .await
        .map_err(|e| unreachable(&list_url, e))?;
    let files = wanted(&list, state.ml.npu_soc()).map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, format!("{name}: {e}")))?;
    state.model_fetch.lock().expect("model fetch lock").total = files.iter().map(|f| f.size).sum();

    let incoming = store.root().join(format!(".incoming-{name}"));
    let _ = tokio::fs::remove_dir_all(&incoming).await;
    let fetched = async {
        for file in &files {
            let url = file_url(hub, name, &file.path)?;
            fetch_file(state, &client, &url, file, &incoming.join(&file.path)).await?;
        }
        install(store, name, &incoming).await
    }
    .await;
    if fetched.is_err() {
        let _ = tokio::fs::remove_dir_all(&incoming).await;
    }
    fetched
}

async fn fetch_file(state: &AppState, client: &reqwest13::Client, url: &Url, file: &Wanted, to: &Path) -> ApiResult<()> {
    let broke_off = |e: reqwest13::Error| ApiError::new(StatusCode::BAD_GATEWAY, format!("Downloading {url} failed ({e}): try again"));
    let response = client
        .get(url.clone())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(broke_off)?;
    if let Some(dir) = to.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| storage_error(e, "making the model's folder"))?;
    }
    let Arrived { sha256, bytes } = download::to_file(response, to, "storing the model", broke_off, |n| {
        state.model_fetch.lock().expect("model fetch lock").received += n;
    })
    .await?;
    let size_ok = file.size == 0 || bytes == file.size;
    if !size_ok || file.sha256.as_ref().is_some_and(|s| *s != sha256) {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "{} arrived damaged ({bytes} bytes with SHA-256 {sha256}, the repository lists {} bytes{}): nothing was installed; try again",
                file.path,
                file.size,
                file.sha256.as_ref().map(|s| format!(" with {s}")).unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// A model folder found on a disk plugged into the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    pub name: String,
    pub path: String,
    /// The disk's label, or its model, or its device.
    pub disk: String,
}

/// How deep below a disk's top model folders are looked for: an Immich
/// cache copied whole is `<folder>/<task>/<model>`.
const FOUND_DEPTH: usize = 3;

/// Model folders on the disks the storage service offers for backups;
/// none where there is no storage service (disks are the host's then).
pub async fn found(state: &AppState) -> ApiResult<Vec<Found>> {
    let listed = match storage(state).await {
        Ok(service) => service.list_backup_disks().await.map_err(unavailable),
        Err(e) => Err(e),
    };
    let disks = match listed {
        Ok(disks) => disks,
        Err(e) => {
            tracing::debug!(error = e.message, "no disks to look for models on");
            return Ok(Vec::new());
        }
    };
    tokio::task::spawn_blocking(move || {
        disks
            .iter()
            .flat_map(|disk| {
                let name = [&disk.label, &disk.model, &disk.path]
                    .into_iter()
                    .find(|n| !n.is_empty())
                    .cloned()
                    .unwrap_or_default();
                models_in(Path::new(&disk.mount), FOUND_DEPTH).into_iter().map(move |p| Found {
                    name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    path: p.to_string_lossy().into_owned(),
                    disk: name.clone(),
                })
            })
            .collect()
    })
    .await
    .map_err(ApiError::internal)
}

/// Folders at most `depth` below `dir` that hold a model: a part folder
/// (`visual`, `detection`, ...) with an ONNX file in it. Links are not followed.
fn models_in(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if is_model(&path) {
            found.push(path);
        } else if depth > 1 {
            found.extend(models_in(&path, depth - 1));
        }
    }
    found.sort();
    found
}

fn is_model(dir: &Path) -> bool {
    let parts = [ModelPart::Detection, ModelPart::Recognition, ModelPart::Visual, ModelPart::Textual];
    parts.iter().any(|part| {
        std::fs::read_dir(dir.join(part.folder()))
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| f.path().extension().is_some_and(|e| e == "onnx") && f.file_type().is_ok_and(|t| t.is_file()))
    })
}

/// The files of a model folder worth copying, relative to it, with their
/// sizes: regular files only (a link on a disk from elsewhere could point
/// anywhere), and not other runtimes' files.
fn files_of(dir: &Path, soc: Option<&str>) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let mut files = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(dir.join(&folder))? {
            let entry = entry?;
            let (kind, relative) = (entry.file_type()?, folder.join(entry.file_name()));
            if kind.is_dir() {
                folders.push(relative);
            } else if kind.is_file() && for_this_box(&relative.to_string_lossy(), soc) {
                files.push((relative, entry.metadata()?.len()));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Copies the model folder `from` (found on a disk) into place as `name`.
async fn copy(state: &AppState, store: &ModelStore, name: &str, from: PathBuf) -> ApiResult<()> {
    let incoming = store.root().join(format!(".incoming-{name}"));
    let (progress, to) = (state.clone(), incoming.clone());
    let copied = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let _ = std::fs::remove_dir_all(&to);
        let files = files_of(&from, progress.ml.npu_soc())?;
        progress.model_fetch.lock().expect("model fetch lock").total = files.iter().map(|(_, size)| size).sum();
        for (file, _) in files {
            let target = to.join(&file);
            std::fs::create_dir_all(target.parent().unwrap_or(&to))?;
            let bytes = std::fs::copy(from.join(&file), &target)?;
            std::fs::File::open(&target)?.sync_all()?;
            progress.model_fetch.lock().expect("model fetch lock").received += bytes;
        }
        Ok(())
    })
    .await
    .map_err(ApiError::internal)?;
    let installed = match copied {
        Ok(()) => install(store, name, &incoming).await,
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The model could not be read from the disk ({e}): check the disk in another computer, or copy the model again"),
        )),
    };
    if installed.is_err() {
        let _ = tokio::fs::remove_dir_all(&incoming).await;
    }
    installed
}

/// Puts the model folder `from` in place of model `name`, whole: an older
/// copy is set aside first and removed after.
async fn install(store: &ModelStore, name: &str, from: &Path) -> ApiResult<()> {
    let to = store.model_dir(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let aside = store.root().join(format!(".replaced-{name}"));
    let _ = tokio::fs::remove_dir_all(&aside).await;
    let moved_aside = tokio::fs::rename(&to, &aside).await.is_ok();
    if let Err(e) = tokio::fs::rename(from, &to).await {
        if moved_aside {
            let _ = tokio::fs::rename(&aside, &to).await;
        }
        return Err(storage_error(e, "putting the model in place"));
    }
    let _ = tokio::fs::remove_dir_all(&aside).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn model_folders_are_found_on_a_disk_and_copied_without_links_or_other_runtimes() {
        let disk = tempfile::tempdir().unwrap();
        let put = |path: &str| {
            let file = disk.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, path).unwrap();
        };
        put("immich-cache/clip/ViT-B-32__openai/visual/model.onnx");
        put("immich-cache/clip/ViT-B-32__openai/visual/model.rknn");
        put("immich-cache/clip/ViT-B-32__openai/config.json");
        put("buffalo_l/detection/model.onnx");
        put("photos/visual/notes.txt");
        put("a/b/c/deep/visual/model.onnx");
        put(".Trash/old/visual/model.onnx");
        let model = disk.path().join("buffalo_l");
        std::os::unix::fs::symlink("/etc/passwd", model.join("detection/passwd")).unwrap();

        let found = models_in(disk.path(), FOUND_DEPTH);
        let names: Vec<&Path> = found.iter().map(|p| p.strip_prefix(disk.path()).unwrap()).collect();
        assert_eq!(names, [Path::new("buffalo_l"), Path::new("immich-cache/clip/ViT-B-32__openai")]);
        let files = files_of(&found[1], None).unwrap();
        let files: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(files, [Path::new("config.json"), Path::new("visual/model.onnx")]);
        let files = files_of(&model, None).unwrap();
        assert_eq!(files, [(PathBuf::from("detection/model.onnx"), 30)], "no link");
    }

    #[test]
    fn addresses_are_hugging_faces() {
        let hub = Url::parse("https://huggingface.co/immich-app").unwrap();
        assert_eq!(
            list_url(&hub, "ViT-B-32__openai").unwrap().as_str(),
            "https://huggingface.co/api/models/immich-app/ViT-B-32__openai/tree/main?recursive=true"
        );
        assert_eq!(
            file_url(&hub, "buffalo_l", "detection/model.onnx").unwrap().as_str(),
            "https://huggingface.co/immich-app/buffalo_l/resolve/main/detection/model.onnx"
        );
        assert_eq!(
            file_url(&hub, "m", "a b/c#d.json").unwrap().as_str(),
            "https://huggingface.co/immich-app/m/resolve/main/a%20b/c%23d.json"
        );
    }

    #[test]
    fn a_file_list_gives_the_onnx_files_with_their_checks() {
        let list = format!(
            r#"[{{"type":"file","path":".gitattributes","size":1519}},
                {{"type":"directory","path":"visual","size":0}},
                {{"type":"file","path":"visual/model.onnx","size":351,"lfs":{{"oid":"{}","size":351}}}},
                {{"type":"file","path":"visual/model.rknn","size":9}},
                {{"type":"file","path":"visual/rknpu/rk3588/model.rknn","size":9}},
                {{"type":"file","path":"visual/rknpu/rk3566/model.rknn","size":9}},
                {{"type":"file","path":"textual/model.armnn","size":9}},
                {{"type":"file","path":"textual/tokenizer.json","size":22}}]"#,
            SHA.to_uppercase()
        );
        let files = wanted(list.as_bytes(), None).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, [".gitattributes", "visual/model.onnx", "textual/tokenizer.json"]);
        assert_eq!(files[1].sha256.as_deref(), Some(SHA));
        assert_eq!((files[2].size, files[2].sha256.as_deref()), (22, None));

        let on_rk3588 = wanted(list.as_bytes(), Some("rk3588")).unwrap();
        let paths: Vec<&str> = on_rk3588.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".gitattributes",
                "visual/model.onnx",
                "visual/rknpu/rk3588/model.rknn",
                "textual/tokenizer.json"
            ],
            "a box with an RK3588 NPU takes the conversion for its chip only"
        );
    }

    #[test]
    fn a_file_list_that_leaves_the_model_or_holds_no_model_is_refused() {
        for hostile in ["../../etc/cron.d/x", "/etc/passwd", "visual/../../x", ""] {
            let list = format!(r#"[{{"type":"file","path":"visual/model.onnx","size":1}},{{"type":"file","path":"{hostile}","size":1}}]"#);
            let refused = wanted(list.as_bytes(), None).unwrap_err();
            assert!(refused.contains("outside the model"), "{hostile}: {refused}");
        }
        let no_model = br#"[{"type":"file","path":"README.md","size":5},{"type":"file","path":"visual/model.rknn","size":5}]"#;
        assert!(wanted(no_model, None).unwrap_err().contains("no ONNX model"));
        assert!(wanted(b"<html>rate limited</html>", None).unwrap_err().contains("no file list"));
    }
}
