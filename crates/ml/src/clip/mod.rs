//! CLIP, for search by what a photo shows: photos and queries become unit
//! vectors in one space, and a query's nearest photos are its matches.
//! Models are Immich's exports: `visual/` and `textual/` networks,
//! `preprocess_cfg.json`, the tokenizer files and `config.json`.

mod preprocess;
mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use image::RgbImage;
use serde::Deserialize;

pub use preprocess::Preprocess;
use tokenizer::TextConfig;
pub use tokenizer::{Tokenizer, Tokens};

use crate::vectors::normalized;
use crate::{Backend, Error, Model, ModelPart, ModelStore, Result, Runtime};

/// The files a CLIP model needs, relative to its folder.
pub const FILES: [&str; 6] = [
    "config.json",
    "visual/model.onnx",
    "visual/preprocess_cfg.json",
    "textual/model.onnx",
    "textual/tokenizer.json",
    "textual/tokenizer_config.json",
];

#[derive(Deserialize)]
struct ModelConfig {
    text_cfg: TextConfig,
}

pub struct Clip {
    visual: Model,
    preprocess: Preprocess,
    textual: Model,
    text: TextConfig,
    folder: PathBuf,
    /// Loaded with the textual network and dropped with it.
    tokenizer: Mutex<Option<Arc<Tokenizer>>>,
}

impl Clip {
    /// The model `name` from the store; its configuration is read now, its
    /// networks and tokenizer on first use.
    pub fn new(runtime: &Arc<Runtime>, store: &ModelStore, name: &str) -> Result<Clip> {
        let dir = store.model_dir(name)?;
        let config: ModelConfig = read_json(&dir.join("config.json"))?;
        Ok(Clip {
            visual: Model::new(runtime.clone(), store.path(name, ModelPart::Visual)?).on_npu(store.npu()),
            preprocess: Preprocess::load(&dir.join("visual/preprocess_cfg.json"))?,
            textual: Model::new(runtime.clone(), store.path(name, ModelPart::Textual)?),
            text: config.text_cfg,
            folder: store.folder(name, ModelPart::Textual)?,
            tokenizer: Mutex::new(None),
        })
    }

    /// Whether every file of the model is in the store.
    pub fn installed(store: &ModelStore, name: &str) -> bool {
        store.model_dir(name).is_ok_and(|dir| FILES.iter().all(|f| dir.join(f).is_file()))
    }

    /// The photo as a unit vector.
    pub fn encode_image(&self, image: &RgbImage) -> Result<Vec<f32>> {
        let size = self.preprocess.size as usize;
        let embedding = self.visual.infer([1, 3, size, size], self.preprocess.tensor(image), |outputs| {
            first_row(&self.visual, outputs)
        })?;
        unit(&self.visual, embedding)
    }

    /// The query as a unit vector in the photos' space.
    pub fn encode_text(&self, text: &str) -> Result<Vec<f32>> {
        let tokens = self.tokenizer()?.encode(text)?;
        let shape = [1, tokens.ids.len()];
        let embedding = self.textual.run(
            |takes| {
                // Multilingual M-CLIP exports take a mask beside the ids;
                // open_clip's take the ids alone, under whatever name.
                if takes.iter().any(|input| input.name() == "attention_mask") {
                    Ok(vec![
                        ("input_ids".into(), self.textual.tensor(shape, tokens.ids)?),
                        ("attention_mask".into(), self.textual.tensor(shape, tokens.attention_mask)?),
                    ])
                } else {
                    let name = takes.first().map(|input| input.name().to_owned()).unwrap_or_default();
                    Ok(vec![(name, self.textual.tensor(shape, tokens.ids)?)])
                }
            },
            |outputs| first_row(&self.textual, outputs),
        )?;
        unit(&self.textual, embedding)
    }

    pub fn tokenizer(&self) -> Result<Arc<Tokenizer>> {
        let mut slot = self.tokenizer.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(Arc::new(Tokenizer::load(&self.folder, &self.text)?));
        }
        Ok(slot.clone().expect("loaded above"))
    }

    pub fn is_loaded(&self) -> bool {
        self.visual.is_loaded() || self.textual.is_loaded()
    }

    /// What runs the image network, which sees every photo; a search's
    /// one short query always runs on the CPU.
    pub fn backend(&self) -> Backend {
        self.visual.backend()
    }

    /// Frees the networks unused for `idle`; true when any was freed.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        let visual = self.visual.unload_if_idle(idle);
        let textual = self.textual.unload_if_idle(idle);
        if textual {
            *self.tokenizer.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        visual || textual
    }
}

/// The embedding of the batch's only item, from the first output.
fn first_row(model: &Model, outputs: &[crate::model::Output<'_>]) -> Result<Vec<f32>> {
    let output = outputs.first().ok_or_else(|| model.failed("the network has no output"))?;
    match output.shape.as_slice() {
        [1, dim] if *dim > 0 => Ok(output.values.to_vec()),
        shape => Err(model.failed(format!("expected an embedding of shape [1, n], got {shape:?}"))),
    }
}

fn unit(model: &Model, embedding: Vec<f32>) -> Result<Vec<f32>> {
    let unit = normalized(&embedding);
    if unit.iter().all(|&v| v == 0.0) {
        return Err(Error::Model {
            path: model.path().to_owned(),
            reason: "the embedding is zero or not a number".into(),
        });
    }
    Ok(unit)
}

/// A JSON file of the model folder, with the file named in any error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let failed = |reason: String| Error::Model {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
}
