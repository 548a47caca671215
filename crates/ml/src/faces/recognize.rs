//! Face embeddings (ArcFace, as Immich's `buffalo_*` packs carry it in
//! `recognition/model.onnx`): each face cut out upright by its five
//! landmarks, as insightface's `norm_crop` does, then embedded; one
//! person's faces lie close together.

use std::sync::Arc;
use std::time::Duration;

use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, warp_into};

use super::Face;
use crate::vectors::normalized;
use crate::{Backend, Model, ModelPart, ModelStore, Result, Runtime};

/// The side of the square crop ArcFace takes.
pub const SIZE: u32 = 112;

/// Where the eyes, nose tip and mouth corners sit in an upright 112 × 112
/// ArcFace crop (insightface's `arcface_dst`).
const TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

pub struct FaceEmbedder {
    model: Model,
}

impl FaceEmbedder {
    /// The `recognition` network of the model `name`; read on first use.
    pub fn new(runtime: &Arc<Runtime>, store: &ModelStore, name: &str) -> Result<FaceEmbedder> {
        Ok(FaceEmbedder {
            model: Model::new(runtime.clone(), store.path(name, ModelPart::Recognition)?).on_npu(store.npu()),
        })
    }

    pub fn installed(store: &ModelStore, name: &str) -> bool {
        store.path(name, ModelPart::Recognition).is_ok_and(|p| p.is_file())
    }

    /// One unit vector per face, in order.
    pub fn embed(&self, image: &RgbImage, faces: &[Face]) -> Result<Vec<Vec<f32>>> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let plane = (SIZE * SIZE) as usize;
        let mut data = vec![0.0; faces.len() * 3 * plane];
        for (face, chunk) in faces.iter().zip(data.chunks_mut(3 * plane)) {
            for (i, pixel) in align(image, &face.landmarks).pixels().enumerate() {
                for (c, &value) in pixel.0.iter().enumerate() {
                    chunk[c * plane + i] = (f32::from(value) - 127.5) / 127.5;
                }
            }
        }
        let shape = [faces.len(), 3, SIZE as usize, SIZE as usize];
        self.model.infer(shape, data, |outputs| {
            let output = outputs.first().ok_or_else(|| self.model.failed("the network has no output"))?;
            match output.shape.as_slice() {
                [n, dim] if *n as usize == faces.len() && *dim > 0 => Ok(output.values.chunks(*dim as usize).map(normalized).collect()),
                shape => Err(self
                    .model
                    .failed(format!("expected embeddings of shape [{}, n], got {shape:?}", faces.len()))),
            }
        })
    }

    pub fn is_loaded(&self) -> bool {
        self.model.is_loaded()
    }

    pub fn backend(&self) -> Backend {
        self.model.backend()
    }

    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        self.model.unload_if_idle(idle)
    }
}

/// The face turned, scaled and moved so its landmarks fall on the
/// template's, cut to 112 × 112 with black beyond the photo.
pub fn align(image: &RgbImage, landmarks: &[[f32; 2]; 5]) -> RgbImage {
    let mut out = RgbImage::new(SIZE, SIZE);
    if let Some(projection) = similarity(landmarks, &TEMPLATE) {
        warp_into(
            image,
            projection,
            Interpolation::Bilinear,
            Border::Constant(Rgb([0, 0, 0])),
            &mut out,
        );
    }
    out
}

/// The rotation, uniform scale and translation that takes `from` nearest
/// to `to` in least squares (Umeyama's estimate, which for points in a
/// plane has this closed form); `None` when the points coincide.
fn similarity(from: &[[f32; 2]; 5], to: &[[f32; 2]; 5]) -> Option<Projection> {
    let mean = |points: &[[f32; 2]; 5]| {
        let n = points.len() as f32;
        [
            points.iter().map(|p| p[0]).sum::<f32>() / n,
            points.iter().map(|p| p[1]).sum::<f32>() / n,
        ]
    };
    let (ms, md) = (mean(from), mean(to));
    let (mut dot, mut cross, mut spread) = (0.0, 0.0, 0.0);
    for (s, d) in from.iter().zip(to) {
        let (sx, sy, dx, dy) = (s[0] - ms[0], s[1] - ms[1], d[0] - md[0], d[1] - md[1]);
        dot += sx * dx + sy * dy;
        cross += sx * dy - sy * dx;
        spread += sx * sx + sy * sy;
    }
    if spread <= f32::EPSILON {
        return None;
    }
    let (a, b) = (dot / spread, cross / spread);
    let tx = md[0] - (a * ms[0] - b * ms[1]);
    let ty = md[1] - (b * ms[0] + a * ms[1]);
    Projection::from_matrix([a, -b, tx, b, a, ty, 0.0, 0.0, 1.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_already_on_the_template_map_onto_themselves_and_a_moved_face_back_onto_it() {
        let identity = similarity(&TEMPLATE, &TEMPLATE).unwrap();
        let (x, y) = identity * (10.0, 20.0);
        assert!((x - 10.0).abs() < 1e-3 && (y - 20.0).abs() < 1e-3);

        // The template turned a quarter, doubled and moved: the estimate undoes it exactly.
        let moved = TEMPLATE.map(|[x, y]| [300.0 - 2.0 * y, 40.0 + 2.0 * x]);
        let back = similarity(&moved, &TEMPLATE).unwrap();
        for (m, t) in moved.iter().zip(TEMPLATE) {
            let (x, y) = back * (m[0], m[1]);
            assert!((x - t[0]).abs() < 1e-2 && (y - t[1]).abs() < 1e-2, "{m:?} → ({x}, {y}), not {t:?}");
        }
        assert!(similarity(&[[5.0, 5.0]; 5], &TEMPLATE).is_none());
    }

    #[test]
    fn the_crop_puts_a_marked_eye_where_the_template_has_it() {
        // A white dot at each landmark of a face twice the template's size, 100 px in.
        let landmarks = TEMPLATE.map(|[x, y]| [100.0 + 2.0 * x, 60.0 + 2.0 * y]);
        let mut image = RgbImage::new(400, 400);
        for [x, y] in landmarks {
            for dy in -2..=2 {
                for dx in -2..=2 {
                    image.put_pixel((x as i32 + dx) as u32, (y as i32 + dy) as u32, Rgb([255, 255, 255]));
                }
            }
        }
        let crop = align(&image, &landmarks);
        assert_eq!(crop.dimensions(), (SIZE, SIZE));
        for [x, y] in TEMPLATE {
            assert!(crop.get_pixel(x.round() as u32, y.round() as u32)[0] > 200, "no dot at ({x}, {y})");
        }
        assert_eq!(crop.get_pixel(5, 5)[0], 0, "elsewhere is dark");
    }
}
