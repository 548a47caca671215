//! Faces: where they are in a photo, with five landmarks (eyes, nose,
//! mouth corners) for alignment; and faces grouped into people
//! ([`cluster`]).

pub mod cluster;
mod mtcnn;
mod recognize;
mod scrfd;

use std::sync::Arc;
use std::time::Duration;

use image::RgbImage;

use crate::{Backend, ModelPart, ModelStore, Result, Runtime};
pub use recognize::{FaceEmbedder, align};

/// A face in pixel coordinates of the image it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// Left, top, right, bottom.
    pub bbox: [f32; 4],
    pub score: f32,
    /// Left eye, right eye, nose, left and right mouth corner, as (x, y).
    pub landmarks: [[f32; 2]; 5],
}

/// A face detector from the model store: SCRFD, which Immich's
/// insightface packs (`buffalo_l`, `buffalo_s`, ...) carry as
/// `detection/model.onnx`, or MTCNN's three networks.
pub struct FaceDetector {
    network: Network,
}

enum Network {
    Scrfd(scrfd::Scrfd),
    // Three models beside SCRFD's one: boxed, so the enum is one model's size.
    Mtcnn(Box<mtcnn::Mtcnn>),
}

impl FaceDetector {
    /// The detector in the model's `detection` folder: `model.onnx` (SCRFD)
    /// or `pnet.onnx`, `rnet.onnx` and `onet.onnx` (MTCNN).
    pub fn new(runtime: &Arc<Runtime>, store: &ModelStore, name: &str) -> Result<FaceDetector> {
        let folder = store.folder(name, ModelPart::Detection)?;
        let scrfd = folder.join(scrfd::NETWORK);
        let network = if scrfd.is_file() {
            Network::Scrfd(scrfd::Scrfd::new(runtime, scrfd, store.npu()))
        } else {
            Network::Mtcnn(Box::new(mtcnn::Mtcnn::new(runtime, &folder)))
        };
        Ok(FaceDetector { network })
    }

    /// Whether the model's networks are in the store.
    pub fn installed(store: &ModelStore, name: &str) -> bool {
        store
            .folder(name, ModelPart::Detection)
            .is_ok_and(|folder| folder.join(scrfd::NETWORK).is_file() || mtcnn::NETWORKS.iter().all(|n| folder.join(n).is_file()))
    }

    pub fn is_loaded(&self) -> bool {
        match &self.network {
            Network::Scrfd(n) => n.is_loaded(),
            Network::Mtcnn(n) => n.is_loaded(),
        }
    }

    /// MTCNN's first network takes an image pyramid of many sizes, which a
    /// conversion for fixed shapes cannot: it stays on the CPU.
    pub fn backend(&self) -> Backend {
        match &self.network {
            Network::Scrfd(n) => n.backend(),
            Network::Mtcnn(_) => Backend::Cpu,
        }
    }

    /// Faces at least `min_score` sure, largest first.
    pub fn detect(&self, image: &RgbImage, min_score: f32) -> Result<Vec<Face>> {
        let mut faces = match &self.network {
            Network::Scrfd(n) => n.detect(image, min_score)?,
            Network::Mtcnn(n) => n.detect(image, min_score)?,
        };
        let area = |f: &Face| (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]);
        faces.sort_by(|a, b| area(b).total_cmp(&area(a)));
        Ok(faces)
    }

    /// Frees the networks when unused for `idle`; true when any was freed.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        match &self.network {
            Network::Scrfd(n) => n.unload_if_idle(idle),
            Network::Mtcnn(n) => n.unload_if_idle(idle),
        }
    }
}

/// How much two boxes overlap, for [`suppress`].
#[derive(Clone, Copy)]
pub(crate) enum Overlap {
    /// Intersection over union.
    Union,
    /// Intersection over the smaller box: drops a box inside another.
    Min,
}

/// Non-maximum suppression over (box, score) pairs: the indices of the
/// best-scoring boxes, each dropping the boxes that overlap it by more than
/// `threshold`. Corners are inclusive pixels, as both detectors count them.
pub(crate) fn suppress(boxes: &[([f32; 4], f32)], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let area = |b: &[f32; 4]| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[b].1.total_cmp(&boxes[a].1));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let a = &boxes[i].0;
        let clear = kept.iter().all(|&k| {
            let b = &boxes[k].0;
            let iw = (a[2].min(b[2]) - a[0].max(b[0]) + 1.0).max(0.0);
            let ih = (a[3].min(b[3]) - a[1].max(b[1]) + 1.0).max(0.0);
            let inter = iw * ih;
            let ratio = match overlap {
                Overlap::Union => inter / (area(a) + area(b) - inter),
                Overlap::Min => inter / area(a).min(area(b)),
            };
            ratio <= threshold
        });
        if clear {
            kept.push(i);
        }
    }
    kept
}
