//! The video settings in force: what the admin saved in the catalog, else
//! Immich's defaults with the engine the probe found.

use shoebox_catalog::Catalog;
use shoebox_media::hwaccel::{Accel, Hardware};
use shoebox_media::transcode::TranscodeSettings;

/// The catalog setting that holds the admin's `SystemConfigFFmpegDto`, as JSON.
pub const SETTINGS_KEY: &str = "video_transcode";

/// What transcodes use now. Settings this version cannot read (written by
/// a newer one before a rollback) give way to the defaults, with a warning.
pub fn settings(catalog: &Catalog, hardware: &Hardware) -> Result<TranscodeSettings, shoebox_catalog::Error> {
    let defaults = TranscodeSettings {
        accel: hardware.default_choice(),
        ..TranscodeSettings::default()
    };
    Ok(match catalog.setting(SETTINGS_KEY)? {
        None => defaults,
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the saved video settings are unreadable; using the defaults");
            defaults
        }),
    })
}

/// The engine `settings` ask for, where this machine has it; otherwise
/// software, and why.
pub fn engine(settings: &TranscodeSettings, hardware: &Hardware) -> (Accel, Option<String>) {
    match hardware.accel(settings.accel, settings.target_video_codec, &settings.preferred_hw_device) {
        Ok(accel) => (accel, None),
        Err(reason) => (Accel::Software, Some(reason)),
    }
}
