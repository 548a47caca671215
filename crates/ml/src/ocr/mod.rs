//! Text in photos: PP-OCR detection and recognition, as Immich runs them.

mod detect;
mod recognize;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use image::RgbImage;

use crate::{Model, ModelPart, ModelStore, Result, Runtime};

/// Corners of a box, clockwise from the top left, in pixels.
pub type Quad = [[f32; 2]; 4];

/// Immich's OCR settings and defaults.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The shorter side of the image the detector sees.
    pub max_resolution: u32,
    pub min_detection_score: f32,
    pub min_recognition_score: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_resolution: 736,
            min_detection_score: 0.5,
            min_recognition_score: 0.8,
        }
    }
}

/// One line of text found in an image.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// Corners as fractions of the image's width and height.
    pub corners: Quad,
    pub box_score: f32,
    pub text: String,
    pub text_score: f32,
}

/// Crops read per inference: bounds the batch tensor's memory.
const BATCH: usize = 6;

pub struct Ocr {
    detector: Model,
    recognizer: Model,
    /// Read from the recogniser's metadata once: thousands of entries.
    characters: OnceLock<Vec<String>>,
}

impl Ocr {
    /// The OCR model `name` from the store; its files are read on first use.
    pub fn new(runtime: &Arc<Runtime>, store: &ModelStore, name: &str) -> Result<Ocr> {
        Ok(Ocr {
            detector: Model::new(runtime.clone(), store.path(name, ModelPart::Detection)?),
            recognizer: Model::new(runtime.clone(), store.path(name, ModelPart::Recognition)?),
            characters: OnceLock::new(),
        })
    }

    pub const PARTS: [ModelPart; 2] = [ModelPart::Detection, ModelPart::Recognition];

    /// Whether the model's networks are in the store.
    pub fn installed(store: &ModelStore, name: &str) -> bool {
        store.has(name, &Self::PARTS)
    }

    /// Every line of text in `image` the models are confident about.
    pub fn read(&self, image: &RgbImage, settings: &Settings) -> Result<Vec<TextLine>> {
        let (width, height) = image.dimensions();
        if width < 32 || height < 32 {
            return Ok(Vec::new());
        }
        let boxes = self.detect(image, settings)?;
        let crops: Vec<(usize, RgbImage)> = boxes
            .iter()
            .enumerate()
            .filter_map(|(i, (quad, _))| recognize::crop(image, quad).map(|c| (i, c)))
            .collect();
        let mut lines = Vec::new();
        if crops.is_empty() {
            // No text: the recogniser need not even load.
            return Ok(lines);
        }
        let characters = self.characters()?;
        for chunk in crops.chunks(BATCH) {
            let images: Vec<&RgbImage> = chunk.iter().map(|(_, c)| c).collect();
            let read = self.recognize(&images, characters)?;
            for ((index, _), (text, text_score)) in chunk.iter().zip(read) {
                let text = text.trim().to_owned();
                if text.is_empty() || text_score < settings.min_recognition_score {
                    continue;
                }
                let (quad, box_score) = boxes[*index];
                let corners = quad.map(|[x, y]| [x / width as f32, y / height as f32]);
                lines.push(TextLine {
                    corners,
                    box_score,
                    text,
                    text_score,
                });
            }
        }
        Ok(lines)
    }

    /// Frees models unused for `idle`; true when any was loaded and freed.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        let detector = self.detector.unload_if_idle(idle);
        self.recognizer.unload_if_idle(idle) || detector
    }

    pub fn is_loaded(&self) -> bool {
        self.detector.is_loaded() || self.recognizer.is_loaded()
    }

    fn detect(&self, image: &RgbImage, settings: &Settings) -> Result<Vec<(Quad, f32)>> {
        let (shape, data) = detect::input(image, settings.max_resolution);
        let model = &self.detector;
        // [1, 1, height, width]
        model.infer(shape, data, |outputs| match *outputs[0].shape {
            [.., h, w] => Ok(detect::boxes(outputs[0].values, w as u32, h as u32, image.dimensions(), settings)),
            ref other => Err(model.failed(format!("unexpected output shape {other:?}"))),
        })
    }

    fn recognize(&self, crops: &[&RgbImage], characters: &[String]) -> Result<Vec<(String, f32)>> {
        let (shape, data) = recognize::batch(crops);
        let model = &self.recognizer;
        // [n, steps, classes]
        model.infer(shape, data, |outputs| match *outputs[0].shape {
            [_, steps, classes] => Ok(recognize::decode(outputs[0].values, steps as usize, classes as usize, characters)),
            ref other => Err(model.failed(format!("unexpected output shape {other:?}"))),
        })
    }

    /// The recogniser's character list, stored in the model's metadata.
    fn characters(&self) -> Result<&[String]> {
        if let Some(list) = self.characters.get() {
            return Ok(list);
        }
        let model = &self.recognizer;
        let list = model.with_session(|session| {
            let metadata = session.metadata().map_err(|e| model.failed(e))?;
            let list = metadata
                .custom("character")
                .ok_or_else(|| model.failed("the model has no character list in its metadata"))?;
            Ok(list.lines().map(str::to_owned).collect())
        })?;
        Ok(self.characters.get_or_init(|| list))
    }
}

/// An image as planar BGR floats in [-1, 1]: how PP-OCR's networks take it.
fn planar_bgr(image: &RgbImage, width: usize) -> Vec<f32> {
    let plane = image.height() as usize * width;
    let mut data = vec![0.0; 3 * plane];
    for (i, pixel) in image.pixels().enumerate() {
        for (channel, &value) in pixel.0.iter().rev().enumerate() {
            data[channel * plane + i] = f32::from(value) / 127.5 - 1.0;
        }
    }
    data
}
