//! The visual model's input, from the model's own `preprocess_cfg.json`
//! (open_clip's format, which Immich's model folders carry): the photo
//! scaled so its shorter side is the model's size and centre-cropped (or
//! squashed), then normalised channel by channel into a CHW tensor.

use std::path::Path;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use serde::Deserialize;

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Preprocess {
    /// The square side the model takes (`224` or `[224, 224]` in the file).
    #[serde(deserialize_with = "side")]
    pub size: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    #[serde(default = "bicubic")]
    pub interpolation: String,
    /// "shortest" (scale, then centre crop) or "squash" (scale to the square).
    #[serde(default = "shortest")]
    pub resize_mode: String,
}

fn bicubic() -> String {
    "bicubic".into()
}

fn shortest() -> String {
    "shortest".into()
}

fn side<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        One(u32),
        Two([u32; 2]),
    }
    Ok(match Size::deserialize(d)? {
        Size::One(s) => s,
        Size::Two([w, _]) => w,
    })
}

impl Preprocess {
    pub fn load(path: &Path) -> Result<Preprocess> {
        let failed = |reason: String| Error::Model {
            path: path.to_owned(),
            reason,
        };
        let cfg: Preprocess = super::read_json(path)?;
        let known =
            ["bicubic", "bilinear"].contains(&cfg.interpolation.as_str()) && ["shortest", "squash"].contains(&cfg.resize_mode.as_str());
        if !known || cfg.size == 0 || cfg.std.contains(&0.0) {
            return Err(failed(format!(
                "unsupported preprocessing (size {}, interpolation {:?}, resize_mode {:?})",
                cfg.size, cfg.interpolation, cfg.resize_mode
            )));
        }
        Ok(cfg)
    }

    /// The `[3, size, size]` input for one photo.
    pub fn tensor(&self, image: &RgbImage) -> Vec<f32> {
        let square = self.square(image);
        let plane = (self.size * self.size) as usize;
        let mut data = vec![0.0; 3 * plane];
        for (i, pixel) in square.pixels().enumerate() {
            for (c, &value) in pixel.0.iter().enumerate() {
                data[c * plane + i] = (f32::from(value) / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        data
    }

    /// Scaled and cropped to the model's square, with the filter PIL uses
    /// for the configured interpolation (PIL's bicubic is Catmull-Rom,
    /// widened when shrinking, as fast_image_resize does too).
    fn square(&self, image: &RgbImage) -> RgbImage {
        let (w, h) = image.dimensions();
        let size = self.size;
        let (sw, sh) = match self.resize_mode.as_str() {
            "squash" => (size, size),
            // Truncated as open_clip's int() does, so the crop lands on the same pixels.
            _ if w < h => (size, ((f64::from(h) / f64::from(w)) * f64::from(size)) as u32),
            _ => (((f64::from(w) / f64::from(h)) * f64::from(size)) as u32, size),
        };
        let filter = if self.interpolation == "bilinear" {
            FilterType::Bilinear
        } else {
            FilterType::CatmullRom
        };
        let mut scaled = RgbImage::new(sw.max(size), sh.max(size));
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
        Resizer::new()
            .resize(image, &mut scaled, &options)
            .expect("RGB to RGB of the same pixel type");
        let (left, top) = ((scaled.width() - size) / 2, (scaled.height() - size) / 2);
        image::imageops::crop_imm(&scaled, left, top, size, size).to_image()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openai(resize_mode: &str) -> Preprocess {
        Preprocess {
            size: 224,
            mean: [0.481_454_7, 0.457_827_5, 0.408_210_7],
            std: [0.268_629_5, 0.261_302_6, 0.275_777_1],
            interpolation: "bicubic".into(),
            resize_mode: resize_mode.into(),
        }
    }

    #[test]
    fn a_preprocessing_this_code_does_not_do_is_refused_by_name() {
        // Reading Immich's own file is tested with the reference tensor (tests/clip.rs).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("preprocess_cfg.json");
        std::fs::write(&path, r#"{"size": 224, "mean": [0,0,0], "std": [1,1,1], "resize_mode": "longest"}"#).unwrap();
        let err = Preprocess::load(&path).unwrap_err();
        assert!(err.to_string().contains("longest"), "{err}");
    }

    #[test]
    fn the_centre_is_kept_and_channels_are_planes() {
        // A tall image, red at the top and blue at the bottom, green between.
        let image = RgbImage::from_fn(300, 900, |_, y| match y {
            0..150 => image::Rgb([255, 0, 0]),
            150..750 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        });
        let cfg = openai("shortest");
        let data = cfg.tensor(&image);
        assert_eq!(data.len(), 3 * 224 * 224);
        // The crop is the middle 224 of 672 rows (source rows 300..600): all green.
        let green = (1.0 - cfg.mean[1]) / cfg.std[1];
        let plane = 224 * 224;
        assert!((data[plane + 112 * 224 + 112] - green).abs() < 1e-4);
        assert!((data[plane] - green).abs() < 1e-4, "the crop's top row is still green");
        let squashed = openai("squash").tensor(&image);
        assert!(squashed[0] > 1.0, "squashing keeps the red top: {}", squashed[0]);
    }
}
