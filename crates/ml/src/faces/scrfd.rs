//! SCRFD (Guo et al. 2021), the detector in insightface's model packs that
//! Immich uses (`buffalo_l` and its smaller siblings). One network looks at
//! the photo letterboxed into 640 × 640; at strides 8, 16 and 32 it scores
//! two anchors per cell and gives each a box (the distances from the
//! anchor to the four sides) and five landmarks, in units of the stride.
//! The outputs come in that order: the three levels' scores, then their
//! boxes, then their landmarks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use super::{Face, Overlap};
use crate::model::Output;
use crate::npu::Npu;
use crate::{Backend, Model, Result, Runtime};

/// The network's file, in the model's detection folder.
pub(super) const NETWORK: &str = "model.onnx";
const SIZE: usize = 640;
const STRIDES: [usize; 3] = [8, 16, 32];
const ANCHORS: usize = 2;
/// insightface's overlap limit between two faces kept.
const NMS_THRESHOLD: f32 = 0.4;

pub(super) struct Scrfd {
    model: Model,
}

impl Scrfd {
    pub(super) fn new(runtime: &Arc<Runtime>, path: PathBuf, npu: Option<&Npu>) -> Scrfd {
        Scrfd {
            model: Model::new(runtime.clone(), path).on_npu(npu),
        }
    }

    pub(super) fn backend(&self) -> Backend {
        self.model.backend()
    }

    pub(super) fn is_loaded(&self) -> bool {
        self.model.is_loaded()
    }

    pub(super) fn unload_if_idle(&self, idle: Duration) -> bool {
        self.model.unload_if_idle(idle)
    }

    pub(super) fn detect(&self, image: &RgbImage, min_score: f32) -> Result<Vec<Face>> {
        if image.width() == 0 || image.height() == 0 {
            return Ok(Vec::new());
        }
        let (input, scale) = letterbox(image);
        let found = self.model.infer([1, 3, SIZE, SIZE], input, |outputs| {
            decode(outputs, min_score).map_err(|reason| self.model.failed(reason))
        })?;
        let (w, h) = (image.width() as f32, image.height() as f32);
        let boxes: Vec<([f32; 4], f32)> = found.iter().map(|f| (f.bbox, f.score)).collect();
        Ok(super::suppress(&boxes, NMS_THRESHOLD, Overlap::Union)
            .into_iter()
            .map(|i| {
                let f = &found[i];
                let b = f.bbox.map(|v| v / scale);
                Face {
                    bbox: [b[0].max(0.0), b[1].max(0.0), b[2].min(w), b[3].min(h)],
                    score: f.score,
                    landmarks: f.landmarks.map(|p| p.map(|v| v / scale)),
                }
            })
            .collect())
    }
}

/// The photo shrunk (or enlarged) to fit 640 × 640 at the top left, black
/// around it, as one NCHW tensor of RGB values (x − 127.5) / 128; and the
/// scale it was drawn at.
fn letterbox(image: &RgbImage) -> (Vec<f32>, f32) {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let scale = (SIZE as f32 / w).min(SIZE as f32 / h);
    let (sw, sh) = (((w * scale) as u32).max(1), ((h * scale) as u32).max(1));
    let mut scaled = RgbImage::new(sw, sh);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize(image, &mut scaled, &options)
        .expect("RGB to RGB of the same pixel type");
    let plane = SIZE * SIZE;
    let mut data = vec![(0.0 - 127.5) / 128.0; 3 * plane];
    for (x, y, pixel) in scaled.enumerate_pixels() {
        let at = y as usize * SIZE + x as usize;
        for (c, v) in pixel.0.iter().enumerate() {
            data[c * plane + at] = (f32::from(*v) - 127.5) / 128.0;
        }
    }
    (data, sh as f32 / h)
}

/// Every anchor scoring at least `min_score`, in letterbox pixels.
fn decode(outputs: &[Output<'_>], min_score: f32) -> std::result::Result<Vec<Face>, String> {
    if outputs.len() != 3 * STRIDES.len() {
        return Err(format!(
            "SCRFD has {} outputs (scores, boxes and landmarks at three strides); this network has {}",
            3 * STRIDES.len(),
            outputs.len()
        ));
    }
    let mut faces = Vec::new();
    for (level, stride) in STRIDES.into_iter().enumerate() {
        let (scores, boxes, points) = (&outputs[level], &outputs[level + 3], &outputs[level + 6]);
        let side = SIZE / stride;
        let n = side * side * ANCHORS;
        if scores.values.len() != n || boxes.values.len() != 4 * n || points.values.len() != 10 * n {
            return Err(format!(
                "stride {stride} wants {n} anchors; the outputs have {}, {} and {} values",
                scores.values.len(),
                boxes.values.len(),
                points.values.len()
            ));
        }
        let s = stride as f32;
        for (i, &score) in scores.values.iter().enumerate() {
            if score < min_score {
                continue;
            }
            let cell = i / ANCHORS;
            let (cx, cy) = (((cell % side) * stride) as f32, ((cell / side) * stride) as f32);
            let d = &boxes.values[i * 4..i * 4 + 4];
            let p = &points.values[i * 10..i * 10 + 10];
            faces.push(Face {
                bbox: [cx - d[0] * s, cy - d[1] * s, cx + d[2] * s, cy + d[3] * s],
                score,
                landmarks: std::array::from_fn(|k| [cx + p[2 * k] * s, cy + p[2 * k + 1] * s]),
            });
        }
    }
    Ok(faces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_photo_fills_the_width_and_the_rest_is_black() {
        let image = RgbImage::from_pixel(1280, 640, image::Rgb([255, 255, 255]));
        let (data, scale) = letterbox(&image);
        assert_eq!(scale, 0.5);
        let white = (255.0 - 127.5) / 128.0;
        let black = -127.5 / 128.0;
        assert_eq!(data[0], white, "top left");
        assert_eq!(data[319 * SIZE + 639], white, "last row of the photo");
        assert_eq!(data[320 * SIZE], black, "below it");
        assert_eq!(data[2 * SIZE * SIZE + 639 * SIZE + 639], black, "blue, bottom right");
    }

    #[test]
    fn anchors_map_to_boxes_and_landmarks_around_their_cell() {
        let shapes = |n: usize| [vec![n as i64, 1], vec![n as i64, 4], vec![n as i64, 10]];
        let levels: Vec<usize> = STRIDES.iter().map(|s| (SIZE / s).pow(2) * ANCHORS).collect();
        let mut values: Vec<Vec<f32>> = Vec::new();
        for width in [1, 4, 10] {
            for n in &levels {
                values.push(vec![0.0; n * width]);
            }
        }
        // Stride 32, cell (x 3, y 2), second anchor: index (2 * 20 + 3) * 2 + 1.
        let i = (2 * 20 + 3) * 2 + 1;
        values[2][i] = 0.9;
        values[5][i * 4..i * 4 + 4].copy_from_slice(&[0.5, 0.25, 1.0, 1.5]);
        values[8][i * 10] = 0.5;
        values[8][i * 10 + 1] = 0.25;
        let outputs: Vec<Output<'_>> = values
            .iter()
            .enumerate()
            .map(|(k, v)| Output {
                shape: shapes(levels[k % 3])[k / 3].clone(),
                values: v,
            })
            .collect();
        let faces = decode(&outputs, 0.5).unwrap();
        assert_eq!(faces.len(), 1);
        assert_eq!(faces[0].bbox, [96.0 - 16.0, 64.0 - 8.0, 96.0 + 32.0, 64.0 + 48.0]);
        assert_eq!(faces[0].landmarks[0], [96.0 + 16.0, 64.0 + 8.0]);
        assert_eq!(faces[0].landmarks[1], [96.0, 64.0]);
        assert!(decode(&outputs[..8], 0.5).unwrap_err().contains("9 outputs"));
    }
}
