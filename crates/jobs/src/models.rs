//! The machine-learning models jobs run, as the server found them.

use std::sync::Arc;
use std::time::Duration;

use shoebox_catalog::{Catalog, JobKind};
use shoebox_ml::clip::Clip;
use shoebox_ml::faces::{FaceDetector, FaceEmbedder};
use shoebox_ml::ocr::{self, Ocr};

/// Finds an asset's near-identical photos among its owner's embeddings;
/// the server's search index does, so jobs and searches share one copy.
pub trait Neighbours: Send + Sync {
    /// The owner's other assets at most `max_distance` (cosine distance)
    /// from `asset_id`, or `None` while it has no embedding.
    fn near(&self, catalog: &Catalog, asset_id: &str, max_distance: f32) -> Result<Option<Vec<String>>, shoebox_catalog::Error>;
}

/// Places an asset's faces into people among its owner's; the server's
/// people index does, so jobs and the people pages share one copy.
pub trait FaceRecognition: Send + Sync {
    fn recognize(&self, catalog: &Catalog, asset_id: &str) -> Result<(), shoebox_catalog::Error>;
}

pub struct Models {
    /// CLIP, and its name: embeddings are stored under it.
    pub clip: Option<(String, Clip)>,
    /// Set with CLIP: duplicates are found by its embeddings.
    pub neighbours: Option<Arc<dyn Neighbours>>,
    /// Immich's duplicate detection threshold (`maxDistance`).
    pub max_duplicate_distance: f32,
    pub ocr: Option<Ocr>,
    pub ocr_settings: ocr::Settings,
    pub faces: Option<FaceDetector>,
    /// The face model's recognition network, when it has one: faces are
    /// embedded as they are found.
    pub face_embedder: Option<FaceEmbedder>,
    /// Set with the embedder: faces become people.
    pub recognition: Option<Arc<dyn FaceRecognition>>,
    /// Faces the detector is less sure of are left out (Immich's minScore).
    pub min_face_score: f32,
    /// A model unused this long is unloaded, as Immich's ML service does,
    /// so an idle box holds none.
    pub idle_unload: Duration,
}

impl Models {
    /// The kinds of job these models run.
    pub fn job_kinds(&self) -> Vec<JobKind> {
        let mut kinds = Vec::new();
        if self.clip.is_some() {
            kinds.push(JobKind::SmartSearch);
        }
        if self.neighbours.is_some() {
            kinds.push(JobKind::DuplicateDetection);
        }
        if self.recognition.is_some() {
            kinds.push(JobKind::FacialRecognition);
        }
        if self.ocr.is_some() {
            kinds.push(JobKind::Ocr);
        }
        if self.faces.is_some() {
            kinds.push(JobKind::FaceDetection);
        }
        kinds
    }

    pub(crate) fn unload_if_idle(&self) {
        if let Some((_, clip)) = &self.clip {
            clip.unload_if_idle(self.idle_unload);
        }
        if let Some(ocr) = &self.ocr {
            ocr.unload_if_idle(self.idle_unload);
        }
        if let Some(faces) = &self.faces {
            faces.unload_if_idle(self.idle_unload);
        }
        if let Some(embedder) = &self.face_embedder {
            embedder.unload_if_idle(self.idle_unload);
        }
    }
}
