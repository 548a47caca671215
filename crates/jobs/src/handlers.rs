//! What each kind of job does. Handlers are synchronous: the runner calls
//! them on a blocking thread.

use std::sync::Arc;

use shoebox_catalog::{AssetFace, AssetKind, Catalog, Exif, Job, JobKind, OcrText};
use shoebox_media::hwaccel::Hardware;
use shoebox_media::{DerivativeSizes, Layout, MediaType, metadata, thumbnail};
use shoebox_media::{transcode, video};
use shoebox_places::Places;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Could succeed on a later try (disk, database busy).
    #[error("{0}")]
    Transient(String),
    /// A property of the file; retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

impl From<shoebox_catalog::Error> for HandlerError {
    fn from(e: shoebox_catalog::Error) -> Self {
        match e {
            shoebox_catalog::Error::NotFound(_) => HandlerError::Permanent(e.to_string()),
            other => HandlerError::Transient(other.to_string()),
        }
    }
}

impl From<shoebox_media::Error> for HandlerError {
    fn from(e: shoebox_media::Error) -> Self {
        if e.is_transient() {
            HandlerError::Transient(e.to_string())
        } else {
            HandlerError::Permanent(e.to_string())
        }
    }
}

impl From<shoebox_ml::Error> for HandlerError {
    fn from(e: shoebox_ml::Error) -> Self {
        // A missing or damaged model or runtime is the box's to fix, not
        // the photo's: the job retries once the admin has.
        HandlerError::Transient(e.to_string())
    }
}

/// What handlers work with.
#[derive(Clone)]
pub(crate) struct Context {
    pub catalog: Catalog,
    pub layout: Layout,
    pub hardware: Arc<Hardware>,
    pub models: Option<Arc<crate::Models>>,
    pub places: Arc<Places>,
}

/// Runs one job.
pub(crate) fn handle(context: &Context, job: &Job) -> Result<(), HandlerError> {
    let (catalog, layout) = (&context.catalog, &context.layout);
    let asset_id = job
        .asset_id
        .as_deref()
        .ok_or_else(|| HandlerError::Permanent("job has no asset".into()))?;
    let asset = match catalog.asset(asset_id) {
        Ok(asset) => asset,
        // Deleted since it was queued: nothing left to do.
        Err(shoebox_catalog::Error::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let original = layout.resolve(&asset.original_path);
    match job.kind {
        JobKind::ExtractMetadata => {
            let (mut meta, duration_ms) = if asset.kind == AssetKind::Video {
                let info = video::probe(&original)?;
                (info.metadata, info.duration_ms)
            } else {
                (metadata::read(&original)?, None)
            };
            if let Some(sidecar) = &asset.sidecar_path {
                metadata::apply_sidecar(&mut meta, &layout.resolve(sidecar))?;
            }
            let taken = meta.taken.map(|t| (t.instant_millis(), t.local_millis));
            let mut exif = to_exif(&meta, asset.file_size);
            if let Some((city, state, country)) = meta
                .latitude
                .zip(meta.longitude)
                .and_then(|(lat, lon)| place_name(&context.places, lat, lon))
            {
                (exif.city, exif.state, exif.country) = (Some(city), state, Some(country));
            }
            catalog.set_metadata(&asset.id, &exif, taken, meta.width.zip(meta.height))?;
            if let Some(ms) = duration_ms {
                catalog.set_duration(&asset.id, ms)?;
            }
            if let Some(id) = &meta.live_photo_id {
                catalog.link_live_photo(&asset.id, id)?;
            }
            Ok(())
        }
        JobKind::GenerateThumbnails => {
            let (thumb, preview) = (
                Layout::thumbnail(&asset.owner_id, &asset.id),
                Layout::preview(&asset.owner_id, &asset.id),
            );
            let (thumb_path, preview_path) = (layout.resolve(&thumb), layout.resolve(&preview));
            let made = if asset.kind == AssetKind::Video {
                // The poster frame goes through the photo path; it lives next to the preview only until then.
                let poster = preview_path.with_extension("poster.png");
                let result = video::poster(&original, asset.duration_ms, &poster)
                    .and_then(|()| thumbnail::generate(&poster, ".png", None, &thumb_path, &preview_path, DerivativeSizes::default()));
                let _ = std::fs::remove_file(&poster);
                result?
            } else {
                let extension = MediaType::from_file_name(&asset.original_path).map_or("", |t| t.extension);
                let orientation = catalog.exif(&asset.id)?.and_then(|e| e.orientation).and_then(|o| o.parse().ok());
                thumbnail::generate(
                    &original,
                    extension,
                    orientation,
                    &thumb_path,
                    &preview_path,
                    DerivativeSizes::default(),
                )?
            };
            catalog.set_derivatives(&asset.id, &thumb, &preview, made.width.into(), made.height.into())?;
            Ok(())
        }
        JobKind::TranscodeVideo => {
            let info = video::probe(&original)?;
            let settings = crate::video::settings(catalog, &context.hardware)?;
            if !settings.needs_transcode(&info) {
                return Ok(catalog.set_encoded_video(&asset.id, None)?);
            }
            let (accel, unusable) = crate::video::engine(&settings, &context.hardware);
            if let Some(reason) = unusable {
                tracing::warn!(asset = asset.id, %reason, "the chosen video engine cannot be used; transcoding in software");
            }
            let encoded = Layout::encoded_video(&asset.owner_id, &asset.id);
            let mut reported = 0.0;
            let mut progress = |done: f64| {
                // A percent at a time: each report is a catalog write.
                if done - reported >= 0.01 {
                    reported = done;
                    if let Err(e) = catalog.set_job_progress(job.id, done) {
                        tracing::debug!(error = %e, "could not record a transcode's progress");
                    }
                }
            };
            let done = transcode::transcode(&original, &layout.resolve(&encoded), &info, &settings, &accel, &mut progress)?;
            if let Some(reason) = done.fallback_reason {
                tracing::warn!(asset = asset.id, encoder = accel.name(), %reason, "hardware transcoding failed; used software");
            }
            catalog.set_encoded_video(&asset.id, Some(&encoded))?;
            Ok(())
        }
        JobKind::Ocr => {
            let (models, ocr) = model(context, |m| m.ocr.as_ref(), "text recognition")?;
            let lines = ocr.read(&preview(layout, &asset)?, &models.ocr_settings)?;
            let texts: Vec<OcrText> = lines
                .into_iter()
                .map(|l| OcrText {
                    id: String::new(),
                    corners: l.corners.map(|[x, y]| [f64::from(x), f64::from(y)]),
                    box_score: l.box_score.into(),
                    text: l.text,
                    text_score: l.text_score.into(),
                })
                .collect();
            catalog.set_ocr(&asset.id, &texts)?;
            Ok(())
        }
        JobKind::SmartSearch => {
            let (_, (name, clip)) = model(context, |m| m.clip.as_ref(), "search by content")?;
            let embedding = clip.encode_image(&preview(layout, &asset)?)?;
            catalog.set_embedding(&asset.id, name, &embedding)?;
            Ok(())
        }
        JobKind::DuplicateDetection => {
            let (models, neighbours) = model(context, |m| m.neighbours.as_deref(), "duplicate detection")?;
            // Without an embedding yet, the smart search job queues this again when it has one.
            if let Some(near) = neighbours.near(catalog, &asset.id, models.max_duplicate_distance)? {
                catalog.record_duplicates(&asset.id, &near)?;
            }
            Ok(())
        }
        JobKind::FacialRecognition => {
            let (_, recognition) = model(context, |m| m.recognition.as_deref(), "face recognition")?;
            recognition.recognize(catalog, &asset.id)?;
            catalog.mark_recognized(&asset.id)?;
            Ok(())
        }
        JobKind::FaceDetection => {
            let (models, detector) = model(context, |m| m.faces.as_ref(), "face detection")?;
            let image = preview(layout, &asset)?;
            let found = detector.detect(&image, models.min_face_score)?;
            let mut embeddings = match &models.face_embedder {
                Some(embedder) => embedder.embed(&image, &found)?.into_iter().map(Some).collect(),
                None => vec![None; found.len()],
            };
            let faces: Vec<AssetFace> = found
                .into_iter()
                .zip(embeddings.drain(..))
                .map(|(f, embedding)| AssetFace {
                    id: String::new(),
                    image_width: image.width().into(),
                    image_height: image.height().into(),
                    bbox: f.bbox.map(|v| v.round() as i64),
                    score: f.score.into(),
                    landmarks: f.landmarks.map(|[x, y]| [f64::from(x), f64::from(y)]),
                    embedding,
                    person_id: None,
                })
                .collect();
            catalog.set_faces(&asset.id, &faces)?;
            Ok(())
        }
    }
}

/// The server's models and the one a job needs, or why it cannot run yet.
fn model<'c, M: ?Sized>(
    context: &'c Context,
    pick: impl FnOnce(&'c crate::Models) -> Option<&'c M>,
    task: &str,
) -> Result<(&'c crate::Models, &'c M), HandlerError> {
    let models = context.models.as_deref();
    models
        .and_then(|m| pick(m).map(|model| (m, model)))
        .ok_or_else(|| HandlerError::Transient(format!("{task} is not set up on this server; see the status page")))
}

/// The asset's preview, which machine learning looks at (as Immich does).
fn preview(layout: &Layout, asset: &shoebox_catalog::Asset) -> Result<image::RgbImage, HandlerError> {
    let path = asset
        .preview_path
        .as_deref()
        .ok_or_else(|| HandlerError::Permanent("the asset has no preview to look at".into()))?;
    Ok(image::open(layout.resolve(path))
        .map_err(|e| HandlerError::Permanent(format!("the preview could not be decoded: {e}")))?
        .into_rgb8())
}

/// The catalog's (city, state, country) for a position.
pub(crate) fn place_name(places: &Places, latitude: f64, longitude: f64) -> Option<(String, Option<String>, String)> {
    places.lookup(latitude, longitude).map(|p| (p.city, p.state, p.country))
}

fn to_exif(meta: &metadata::Metadata, file_size: i64) -> Exif {
    Exif {
        make: meta.make.clone(),
        model: meta.model.clone(),
        lens_model: meta.lens_model.clone(),
        exposure_time: meta.exposure_time.clone(),
        f_number: meta.f_number,
        iso: meta.iso,
        focal_length: meta.focal_length,
        latitude: meta.latitude,
        longitude: meta.longitude,
        orientation: meta.orientation.map(|o| o.to_string()),
        image_width: meta.width,
        image_height: meta.height,
        date_time_original: meta.taken.map(|t| t.instant_millis()),
        time_zone: meta.taken.and_then(|t| t.zone_name()),
        modify_date: meta.modified.map(|t| t.instant_millis()),
        description: meta.description.clone(),
        rating: meta.rating,
        file_size: Some(file_size),
        ..Exif::default()
    }
}
