//! MTCNN (Zhang et al. 2016): a cascade of three small networks. P-Net
//! proposes face windows over an image pyramid, R-Net rejects most of them,
//! O-Net refines the survivors and places the landmarks. The networks are
//! the Keras port's: NHWC input with width and height swapped (the layout
//! the original MATLAB code used), RGB scaled to [-1, 1].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{Rgb, RgbImage};

use super::{Face, Overlap};
use crate::model::Output;
use crate::{Model, Result, Runtime};

/// The smallest face looked for, in pixels.
const MIN_FACE: f32 = 20.0;
/// Each pyramid level is this much smaller than the one before.
const PYRAMID_STEP: f32 = 0.709;
const PNET_THRESHOLD: f32 = 0.6;
const RNET_THRESHOLD: f32 = 0.7;

/// The three networks' files, in the model's detection folder.
pub(super) const NETWORKS: [&str; 3] = ["pnet.onnx", "rnet.onnx", "onet.onnx"];

pub(super) struct Mtcnn {
    pnet: Model,
    rnet: Model,
    onet: Model,
}

/// A window and the network's proposed correction of it.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    bbox: [f32; 4],
    score: f32,
    offsets: [f32; 4],
}

impl Mtcnn {
    pub(super) fn new(runtime: &Arc<Runtime>, folder: &Path) -> Mtcnn {
        let net = |name: &str| Model::new(runtime.clone(), folder.join(name));
        let [pnet, rnet, onet] = NETWORKS.map(net);
        Mtcnn { pnet, rnet, onet }
    }

    pub(super) fn is_loaded(&self) -> bool {
        [&self.pnet, &self.rnet, &self.onet].iter().any(|m| m.is_loaded())
    }

    pub(super) fn unload_if_idle(&self, idle: Duration) -> bool {
        [&self.pnet, &self.rnet, &self.onet].map(|m| m.unload_if_idle(idle)).contains(&true)
    }

    pub(super) fn detect(&self, image: &RgbImage, min_score: f32) -> Result<Vec<Face>> {
        let proposals = self.propose(image)?;
        let refined = self.refine(image, &proposals)?;
        self.finish(image, &refined, min_score)
    }

    /// Stage 1: P-Net over the pyramid; 12-pixel windows at stride 2.
    fn propose(&self, image: &RgbImage) -> Result<Vec<[f32; 4]>> {
        let (w, h) = image.dimensions();
        let mut all = Vec::new();
        let mut scale = 12.0 / MIN_FACE;
        while w.min(h) as f32 * scale >= 12.0 {
            let (sw, sh) = ((w as f32 * scale).ceil() as u32, (h as f32 * scale).ceil() as u32);
            let scaled = resize_area(image, sw, sh);
            let found = self.pnet.infer([1, sw as usize, sh as usize, 3], swapped(&[&scaled]), |outputs| {
                let (offsets, probabilities) = (by_width(&self.pnet, outputs, 4)?, by_width(&self.pnet, outputs, 2)?);
                let [_, cols, rows, _] = offsets.shape[..] else {
                    return Err(self.pnet.failed(format!("unexpected output shape {:?}", offsets.shape)));
                };
                Ok(windows(offsets.values, probabilities.values, cols as usize, rows as usize, scale))
            })?;
            all.extend(suppress(found, 0.5, Overlap::Union));
            scale *= PYRAMID_STEP;
        }
        let kept = suppress(all, 0.7, Overlap::Union);
        Ok(kept
            .into_iter()
            .map(|c| {
                let (bw, bh) = (c.bbox[2] - c.bbox[0], c.bbox[3] - c.bbox[1]);
                let corrected = [
                    c.bbox[0] + c.offsets[0] * bw,
                    c.bbox[1] + c.offsets[1] * bh,
                    c.bbox[2] + c.offsets[2] * bw,
                    c.bbox[3] + c.offsets[3] * bh,
                ];
                square(corrected).map(f32::trunc)
            })
            .collect())
    }

    /// Stage 2: R-Net on each proposal at 24 × 24.
    fn refine(&self, image: &RgbImage, boxes: &[[f32; 4]]) -> Result<Vec<[f32; 4]>> {
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let patches: Vec<RgbImage> = boxes.iter().map(|b| patch(image, b, 24)).collect();
        let candidates = self
            .rnet
            .infer([boxes.len(), 24, 24, 3], swapped(&patches.iter().collect::<Vec<_>>()), |outputs| {
                let (offsets, probabilities) = (by_width(&self.rnet, outputs, 4)?, by_width(&self.rnet, outputs, 2)?);
                Ok(boxes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| {
                        let score = probabilities.values[i * 2 + 1];
                        (score > RNET_THRESHOLD).then(|| Candidate {
                            bbox: *b,
                            score,
                            offsets: four(&offsets.values[i * 4..]),
                        })
                    })
                    .collect::<Vec<_>>())
            })?;
        Ok(suppress(candidates, 0.7, Overlap::Union)
            .into_iter()
            .map(|c| square(corrected(&c)).map(f32::trunc))
            .collect())
    }

    /// Stage 3: O-Net at 48 × 48 gives the final box, score and landmarks.
    fn finish(&self, image: &RgbImage, boxes: &[[f32; 4]], min_score: f32) -> Result<Vec<Face>> {
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let patches: Vec<RgbImage> = boxes.iter().map(|b| patch(image, b, 48)).collect();
        let faces = self
            .onet
            .infer([boxes.len(), 48, 48, 3], swapped(&patches.iter().collect::<Vec<_>>()), |outputs| {
                let offsets = by_width(&self.onet, outputs, 4)?;
                let points = by_width(&self.onet, outputs, 10)?;
                let probabilities = by_width(&self.onet, outputs, 2)?;
                Ok(boxes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| {
                        let score = probabilities.values[i * 2 + 1];
                        if score <= min_score {
                            return None;
                        }
                        let (bw, bh) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
                        let p = &points.values[i * 10..i * 10 + 10];
                        let landmarks = std::array::from_fn(|k| [bw * p[k] + b[0] - 1.0, bh * p[k + 5] + b[1] - 1.0]);
                        let candidate = Candidate {
                            bbox: *b,
                            score,
                            offsets: four(&offsets.values[i * 4..]),
                        };
                        Some((candidate, landmarks))
                    })
                    .collect::<Vec<_>>())
            })?;
        let corrected: Vec<(Candidate, [[f32; 2]; 5])> = faces
            .into_iter()
            .map(|(c, l)| (Candidate { bbox: corrected(&c), ..c }, l))
            .collect();
        let kept = suppress_indices(&corrected.iter().map(|(c, _)| *c).collect::<Vec<_>>(), 0.7, Overlap::Min);
        let (w, h) = (image.width() as f32, image.height() as f32);
        Ok(kept
            .into_iter()
            .map(|i| {
                let (c, landmarks) = corrected[i];
                let b = c.bbox;
                Face {
                    bbox: [b[0].max(0.0), b[1].max(0.0), b[2].min(w), b[3].min(h)],
                    score: c.score,
                    landmarks,
                }
            })
            .collect())
    }
}

/// The output whose last dimension is `width` (outputs differ in it).
fn by_width<'o, 'a>(model: &Model, outputs: &'o [Output<'a>], width: i64) -> Result<&'o Output<'a>> {
    outputs
        .iter()
        .find(|o| o.shape.last() == Some(&width))
        .ok_or_else(|| model.failed(format!("no output of width {width}; is this an MTCNN network?")))
}

fn four(values: &[f32]) -> [f32; 4] {
    [values[0], values[1], values[2], values[3]]
}

/// Images as one `[n, width, height, 3]` tensor, RGB in [-1, 1].
fn swapped(images: &[&RgbImage]) -> Vec<f32> {
    let mut data = Vec::with_capacity(images.iter().map(|i| i.len()).sum());
    for image in images {
        for x in 0..image.width() {
            for y in 0..image.height() {
                data.extend(image.get_pixel(x, y).0.map(|v| (f32::from(v) - 127.5) * 0.0078125));
            }
        }
    }
    data
}

/// P-Net's windows above its threshold, back in image coordinates.
fn windows(offsets: &[f32], probabilities: &[f32], cols: usize, rows: usize, scale: f32) -> Vec<Candidate> {
    let mut found = Vec::new();
    for x in 0..cols {
        for y in 0..rows {
            let cell = x * rows + y;
            let score = probabilities[cell * 2 + 1];
            if score >= PNET_THRESHOLD {
                let at = |offset: f32, v: usize| ((2.0 * v as f32 + offset) / scale).trunc();
                found.push(Candidate {
                    bbox: [at(1.0, x), at(1.0, y), at(12.0, x), at(12.0, y)],
                    score,
                    offsets: four(&offsets[cell * 4..]),
                });
            }
        }
    }
    found
}

/// The box moved by the network's offsets, relative to its size.
fn corrected(c: &Candidate) -> [f32; 4] {
    let (w, h) = (c.bbox[2] - c.bbox[0] + 1.0, c.bbox[3] - c.bbox[1] + 1.0);
    [
        c.bbox[0] + c.offsets[0] * w,
        c.bbox[1] + c.offsets[1] * h,
        c.bbox[2] + c.offsets[2] * w,
        c.bbox[3] + c.offsets[3] * h,
    ]
}

/// The square around a box's centre with its longer side.
fn square(b: [f32; 4]) -> [f32; 4] {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let side = w.max(h);
    let (x, y) = (b[0] + w * 0.5 - side * 0.5, b[1] + h * 0.5 - side * 0.5);
    [x, y, x + side, y + side]
}

/// The box's pixels (black outside the image) scaled to `size` square.
/// Box corners are inclusive and one-based, as the networks were trained.
fn patch(image: &RgbImage, b: &[f32; 4], size: u32) -> RgbImage {
    let (x0, y0) = (b[0] as i64 - 1, b[1] as i64 - 1);
    let (w, h) = ((b[2] - b[0] + 1.0).max(1.0) as u32, (b[3] - b[1] + 1.0).max(1.0) as u32);
    let inside = |x: i64, y: i64| x >= 0 && y >= 0 && x < i64::from(image.width()) && y < i64::from(image.height());
    let cut = RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = (x0 + i64::from(x), y0 + i64::from(y));
        if inside(sx, sy) {
            *image.get_pixel(sx as u32, sy as u32)
        } else {
            Rgb([0, 0, 0])
        }
    });
    resize_area(&cut, size, size)
}

/// Area averaging when shrinking (OpenCV's INTER_AREA, which the networks
/// were trained with: a softer filter gives P-Net false faces), bilinear
/// when enlarging.
fn resize_area(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let filter = if width < image.width() {
        FilterType::Box
    } else {
        FilterType::Bilinear
    };
    let mut out = RgbImage::new(width, height);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    Resizer::new()
        .resize(image, &mut out, &options)
        .expect("RGB to RGB of the same pixel type");
    out
}

fn suppress(candidates: Vec<Candidate>, threshold: f32, overlap: Overlap) -> Vec<Candidate> {
    suppress_indices(&candidates, threshold, overlap)
        .into_iter()
        .map(|i| candidates[i])
        .collect()
}

fn suppress_indices(candidates: &[Candidate], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let boxes: Vec<([f32; 4], f32)> = candidates.iter().map(|c| (c.bbox, c.score)).collect();
    super::suppress(&boxes, threshold, overlap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(bbox: [f32; 4], score: f32) -> Candidate {
        Candidate {
            bbox,
            score,
            offsets: [0.0; 4],
        }
    }

    #[test]
    fn suppression_keeps_the_best_of_overlapping_boxes_and_separate_ones() {
        let boxes = vec![
            candidate([0.0, 0.0, 10.0, 10.0], 0.8),
            candidate([1.0, 1.0, 11.0, 11.0], 0.9),
            candidate([50.0, 50.0, 60.0, 60.0], 0.7),
        ];
        let kept: Vec<f32> = suppress(boxes, 0.5, Overlap::Union).iter().map(|c| c.score).collect();
        assert_eq!(kept, [0.9, 0.7]);
        let nested = vec![candidate([0.0, 0.0, 100.0, 100.0], 0.9), candidate([10.0, 10.0, 30.0, 30.0], 0.8)];
        assert_eq!(suppress(nested.clone(), 0.5, Overlap::Union).len(), 2, "little union overlap");
        assert_eq!(suppress(nested, 0.5, Overlap::Min).len(), 1, "but inside the other");
    }

    #[test]
    fn windows_map_back_through_the_scale_and_squares_keep_their_centre() {
        // A 2 × 3 map (columns × rows) with one confident cell at x = 1, y = 2.
        let mut probabilities = [0.9, 0.1].repeat(6);
        probabilities[(3 + 2) * 2 + 1] = 0.95;
        let offsets = vec![0.0; 6 * 4];
        let found = windows(&offsets, &probabilities, 2, 3, 0.5);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].bbox, [6.0, 10.0, 28.0, 32.0]);
        assert_eq!(square([0.0, 0.0, 10.0, 20.0]), [-5.0, 0.0, 15.0, 20.0]);
    }

    #[test]
    fn a_patch_beyond_the_image_is_padded_with_black() {
        let image = RgbImage::from_pixel(10, 10, Rgb([255, 255, 255]));
        let p = patch(&image, &[-9.0, 1.0, 10.0, 20.0], 20);
        assert_eq!(p.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(p.get_pixel(15, 5).0, [255, 255, 255]);
    }
}
