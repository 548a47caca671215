//! Faces: where they are in a photo, with five landmarks (eyes, nose,
//! mouth corners) for alignment; and faces grouped into people
//! ([`cluster`]).

pub mod cluster;
mod mtcnn;
mod recognize;

use std::sync::Arc;
use std::time::Duration;

use image::RgbImage;

use crate::{ModelPart, ModelStore, Result, Runtime};
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

/// A face detector from the model store.
pub struct FaceDetector {
    mtcnn: mtcnn::Mtcnn,
}

impl FaceDetector {
    /// MTCNN's three networks, `pnet.onnx`, `rnet.onnx` and `onet.onnx`, in
    /// the model's `detection` folder.
    pub fn new(runtime: &Arc<Runtime>, store: &ModelStore, name: &str) -> Result<FaceDetector> {
        let folder = store.folder(name, ModelPart::Detection)?;
        Ok(FaceDetector {
            mtcnn: mtcnn::Mtcnn::new(runtime, &folder),
        })
    }

    /// Whether the model's networks are in the store.
    pub fn installed(store: &ModelStore, name: &str) -> bool {
        store
            .folder(name, ModelPart::Detection)
            .is_ok_and(|folder| mtcnn::NETWORKS.iter().all(|n| folder.join(n).is_file()))
    }

    pub fn is_loaded(&self) -> bool {
        self.mtcnn.is_loaded()
    }

    /// Faces at least `min_score` sure, largest first.
    pub fn detect(&self, image: &RgbImage, min_score: f32) -> Result<Vec<Face>> {
        let mut faces = self.mtcnn.detect(image, min_score)?;
        let area = |f: &Face| (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]);
        faces.sort_by(|a, b| area(b).total_cmp(&area(a)));
        Ok(faces)
    }

    /// Frees the networks when unused for `idle`; true when any was freed.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        self.mtcnn.unload_if_idle(idle)
    }
}
