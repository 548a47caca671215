//! The machine-learning models jobs run, as the server found them.

use std::time::Duration;

use shoebox_catalog::JobKind;
use shoebox_ml::clip::Clip;
use shoebox_ml::faces::FaceDetector;
use shoebox_ml::ocr::{self, Ocr};

pub struct Models {
    /// CLIP, and its name: embeddings are stored under it.
    pub clip: Option<(String, Clip)>,
    pub ocr: Option<Ocr>,
    pub ocr_settings: ocr::Settings,
    pub faces: Option<FaceDetector>,
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
    }
}
