//! Derived images: a small WebP thumbnail for grids and a large JPEG
//! preview for the viewer, both from one decode of the original, with its
//! orientation applied and its colour profile carried along.
//!
//! Sizes follow Immich: the shorter side becomes the target size (fit
//! "outside"), and nothing is ever enlarged.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};

use fast_image_resize::{ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::{Error, Result, embedded, jpeg, process};

#[derive(Debug, Clone, Copy)]
pub struct DerivativeSizes {
    /// Shorter side of the WebP thumbnail, in pixels.
    pub thumbnail: u32,
    /// Shorter side of the JPEG preview, in pixels.
    pub preview: u32,
    /// Encoder quality, 1–100, for both.
    pub quality: u8,
}

impl Default for DerivativeSizes {
    fn default() -> Self {
        // Immich's defaults: thumbnail 250 px WebP, preview 1440 px JPEG, quality 80.
        DerivativeSizes {
            thumbnail: 250,
            preview: 1440,
            quality: 80,
        }
    }
}

/// What generating derivatives learned about the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derivatives {
    /// Displayed size of the original, orientation applied.
    pub width: u32,
    pub height: u32,
}

/// Largest decoded image we accept: bounds memory on hostile or huge inputs.
const MAX_DECODE_BYTES: u64 = 1 << 30;
/// A 100 MP HEIC takes a few seconds on a Raspberry Pi 4; a minute means a hang.
const HEIF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Decodes `original` once and writes `thumbnail` (WebP) and `preview`
/// (JPEG). `orientation` is the EXIF orientation from the metadata, used
/// where the decoder cannot see it (embedded RAW previews).
pub fn generate(
    original: &Path,
    extension: &str,
    orientation: Option<u16>,
    thumbnail: &Path,
    preview: &Path,
    sizes: DerivativeSizes,
) -> Result<Derivatives> {
    let Decoded {
        mut image,
        icc,
        orientation: decoded_orientation,
        full_size,
    } = decode(original, extension, sizes.preview)?;
    let orientation = decoded_orientation
        .or_else(|| orientation.and_then(|o| Orientation::from_exif(o as u8)))
        .unwrap_or(Orientation::NoTransforms);
    image.apply_orientation(orientation);
    let rgb = DynamicImage::ImageRgb8(image.into_rgb8());
    let turned = matches!(
        orientation,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    );
    let (width, height) = if turned { (full_size.1, full_size.0) } else { full_size };
    let derivatives = Derivatives { width, height };

    let mut large = shrink(&rgb, sizes.preview)?;
    drop(rgb);
    if let Some(icc) = &icc {
        to_srgb(&mut large, icc);
    }
    write_atomically(preview, |out| jpeg::encode(out, &large, sizes.quality))?;

    let small = shrink(&DynamicImage::ImageRgb8(large), sizes.thumbnail)?;
    let webp = webp::Encoder::from_rgb(small.as_raw(), small.width(), small.height()).encode(f32::from(sizes.quality));
    write_atomically(thumbnail, |out| out.write_all(&webp).map_err(|e| Error::Encode(e.to_string())))?;
    Ok(derivatives)
}

/// A neutral grey square shown while an asset has no thumbnail yet.
pub fn placeholder_webp() -> &'static [u8] {
    static PLACEHOLDER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PLACEHOLDER.get_or_init(|| {
        let grey = RgbImage::from_pixel(250, 250, image::Rgb([128, 128, 128]));
        webp::Encoder::from_rgb(grey.as_raw(), 250, 250).encode(50.0).to_vec()
    })
}

/// A decoded image, possibly smaller than the original (JPEGs decode at a
/// reduced DCT scale when the preview allows), with the original's size.
struct Decoded {
    image: DynamicImage,
    icc: Option<Vec<u8>>,
    /// Orientation the decoder applied or read itself, overriding metadata.
    orientation: Option<Orientation>,
    full_size: (u32, u32),
}

fn decode(path: &Path, extension: &str, short_side: u32) -> Result<Decoded> {
    match extension {
        ".jpg" | ".jpeg" | ".jpe" | ".insp" => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            decode_jpeg(BufReader::new(file), short_side).or_else(|_| decode_with_image(path))
        }
        ".png" | ".webp" | ".gif" | ".bmp" | ".tif" | ".tiff" => decode_with_image(path).or_else(|e| {
            if matches!(extension, ".tif" | ".tiff") {
                decode_embedded(path, short_side)
            } else {
                Err(e)
            }
        }),
        ".heic" | ".heif" | ".hif" | ".avif" => decode_heif(path),
        ".jxl" => Err(Error::Unsupported("JPEG XL")),
        ".jp2" => Err(Error::Unsupported("JPEG 2000")),
        ".psd" => Err(Error::Unsupported("Photoshop")),
        ".svg" => Err(Error::Unsupported("SVG")),
        _ => decode_embedded(path, short_side),
    }
}

/// A JPEG through libjpeg-turbo, at the reduced DCT scale the preview allows:
/// a 100 MP photo for a 1440 px preview decodes at a quarter of its size in
/// each direction, in a sixteenth of the memory and time.
fn decode_jpeg(reader: impl std::io::BufRead, short_side: u32) -> Result<Decoded> {
    let jpeg::Decoded { image, icc, full_size } = jpeg::decode(reader, short_side)?;
    Ok(Decoded {
        image: DynamicImage::ImageRgb8(image),
        icc,
        orientation: None,
        full_size,
    })
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn decode_with_image(path: &Path) -> Result<Decoded> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(|e| Error::Decode(e.to_string()))?;
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder.orientation().ok();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| Error::Decode(e.to_string()))?;
    let full_size = (image.width(), image.height());
    Ok(Decoded {
        image,
        icc,
        orientation,
        full_size,
    })
}

/// HEIF, HEIC and AVIF through libheif's `heif-convert`. libheif applies
/// the container's rotation and mirroring, so EXIF orientation must not be
/// applied again.
fn decode_heif(path: &Path) -> Result<Decoded> {
    let scratch = tempfile::tempdir().map_err(|e| Error::io(path, e))?;
    let out = scratch.path().join("decoded.jpg");
    let args = [OsStr::new("-q"), OsStr::new("95"), path.as_os_str(), out.as_os_str()];
    process::run("heif-convert", &args, HEIF_TIMEOUT, "libheif-examples")?;
    // A file with several top-level images (a burst) is written as decoded-1.jpg, decoded-2.jpg, ...
    let first = [out, scratch.path().join("decoded-1.jpg")]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| Error::Decode("heif-convert wrote no image".into()))?;
    let decoded = decode_with_image(&first)?;
    Ok(Decoded {
        orientation: Some(Orientation::NoTransforms),
        ..decoded
    })
}

/// RAW files: the largest JPEG preview the camera embedded.
fn decode_embedded(path: &Path, short_side: u32) -> Result<Decoded> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (offset, _, _) = embedded::largest_jpeg(&bytes).ok_or_else(|| Error::Decode("the RAW file has no embedded JPEG preview".into()))?;
    // The preview's own orientation tag, if any, is unreliable; the RAW's EXIF decides.
    decode_jpeg(Cursor::new(&bytes[offset..]), short_side)
}

/// Converts pixels described by an embedded ICC profile (Display P3 from
/// phones, Adobe RGB from cameras) to sRGB, so the derived images look
/// right in every viewer, colour-managed or not, without carrying a profile.
/// Done on the preview, after the downscale, where it costs a fraction.
/// A profile that cannot describe RGB pixels is ignored.
fn to_srgb(image: &mut RgbImage, icc: &[u8]) {
    let Ok(source) = lcms2::Profile::new_icc(icc) else { return };
    let Ok(transform) = lcms2::Transform::<[u8; 3], [u8; 3]>::new(
        &source,
        lcms2::PixelFormat::RGB_8,
        &lcms2::Profile::new_srgb(),
        lcms2::PixelFormat::RGB_8,
        lcms2::Intent::Perceptual,
    ) else {
        return;
    };
    let (pixels, _) = image.as_mut().as_chunks_mut::<3>();
    transform.transform_in_place(pixels);
}

/// Scales so the shorter side is `target`, never enlarging.
fn shrink(image: &DynamicImage, target: u32) -> Result<RgbImage> {
    let (w, h) = (image.width(), image.height());
    let short = w.min(h).max(1);
    if short <= target {
        return Ok(image.to_rgb8());
    }
    let scale = f64::from(target) / f64::from(short);
    let (nw, nh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let mut dst = DynamicImage::ImageRgb8(RgbImage::new(nw, nh));
    Resizer::new()
        .resize(image, &mut dst, &ResizeOptions::new())
        .map_err(|e| Error::Encode(format!("resize failed: {e}")))?;
    Ok(dst.into_rgb8())
}

/// Writes through a temporary sibling and renames, so a derived file is
/// either complete or absent.
fn write_atomically(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp: PathBuf = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let mut out = BufWriter::new(file);
    let result = write(&mut out).and_then(|()| out.flush().map_err(|e| Error::io(&tmp, e)));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(out);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// A person's face: the square around `bbox` (left, top, right, bottom in
/// the preview's pixels) with half its size again as margin, cut from the
/// preview at `preview` and scaled to at most `side`, as a JPEG.
pub fn face_jpeg(preview: &Path, bbox: [i64; 4], side: u32) -> Result<Vec<u8>> {
    let image = image::open(preview).map_err(|e| Error::Decode(e.to_string()))?;
    let [x1, y1, x2, y2] = bbox.map(|v| v as f64);
    let size = (x2 - x1).max(y2 - y1) * 1.5;
    let (left, top) = (((x1 + x2 - size) / 2.0).max(0.0), ((y1 + y2 - size) / 2.0).max(0.0));
    let crop = image
        .crop_imm(left as u32, top as u32, size as u32, size as u32)
        .thumbnail(side, side);
    let mut out = Vec::new();
    jpeg::encode(&mut out, &crop.into_rgb8(), DerivativeSizes::default().quality)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::jpeg::JpegEncoder;
    use image::{ImageEncoder, ImageFormat, Rgb};

    fn write_jpeg(path: &Path, w: u32, h: u32) {
        let img = RgbImage::from_fn(w, h, |x, _| if x < w / 2 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
        img.save_with_format(path, ImageFormat::Jpeg).unwrap();
    }

    #[test]
    fn the_shorter_side_becomes_the_target_and_small_images_are_not_enlarged() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("wide.jpg");
        write_jpeg(&src, 3000, 2000);
        let (thumb, prev) = (dir.path().join("t.webp"), dir.path().join("p.jpeg"));
        let d = generate(&src, ".jpg", None, &thumb, &prev, DerivativeSizes::default()).unwrap();
        assert_eq!((d.width, d.height), (3000, 2000));
        assert_eq!(image::image_dimensions(&prev).unwrap(), (2160, 1440));
        assert_eq!(image::image_dimensions(&thumb).unwrap(), (375, 250));
        assert_eq!(image::ImageFormat::from_path(&thumb).unwrap(), ImageFormat::WebP);

        let tiny = dir.path().join("tiny.jpg");
        write_jpeg(&tiny, 100, 80);
        generate(&tiny, ".jpg", None, &thumb, &prev, DerivativeSizes::default()).unwrap();
        assert_eq!(image::image_dimensions(&thumb).unwrap(), (100, 80));
    }

    #[test]
    fn exif_orientation_from_metadata_rotates_an_embedded_preview() {
        let dir = tempfile::tempdir().unwrap();
        let jpeg = dir.path().join("p.jpg");
        write_jpeg(&jpeg, 600, 400);
        // A fake RAW: junk, then the camera's preview JPEG.
        let mut raw = b"IIRO\x08\x00\x00\x00not sensor data".to_vec();
        raw.extend(std::fs::read(&jpeg).unwrap());
        let src = dir.path().join("x.orf");
        std::fs::write(&src, raw).unwrap();
        let (thumb, prev) = (dir.path().join("t.webp"), dir.path().join("p.jpeg"));
        let d = generate(&src, ".orf", Some(6), &thumb, &prev, DerivativeSizes::default()).unwrap();
        assert_eq!((d.width, d.height), (400, 600), "orientation 6 turns landscape into portrait");
        // Colour survives: the left half (red) ends up at the top after a 90° clockwise turn.
        let p = image::open(&prev).unwrap().into_rgb8();
        let top = p.get_pixel(p.width() / 2, 10);
        assert!(top[0] > 200 && top[2] < 60, "top pixel {top:?}");
    }

    #[test]
    fn heic_is_decoded_through_libheif_with_its_own_rotation() {
        if std::process::Command::new("heif-enc").arg("--version").output().is_err() {
            eprintln!("SKIPPED: heif-enc (Debian package libheif-examples) is not installed; ci/install-test-deps.sh installs it");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let jpeg = dir.path().join("src.jpg");
        write_jpeg(&jpeg, 640, 480);
        let heic = dir.path().join("photo.heic");
        let ok = std::process::Command::new("heif-enc")
            .args(["-q", "80", "-o"])
            .arg(&heic)
            .arg(&jpeg)
            .status()
            .unwrap()
            .success();
        assert!(ok, "heif-enc failed");
        let (thumb, prev) = (dir.path().join("t.webp"), dir.path().join("p.jpeg"));
        // An EXIF orientation from metadata must not rotate a HEIC a second time.
        let d = generate(&heic, ".heic", Some(6), &thumb, &prev, DerivativeSizes::default()).unwrap();
        assert_eq!((d.width, d.height), (640, 480));
        assert_eq!(image::image_dimensions(&thumb).unwrap(), (333, 250));
    }

    #[test]
    fn a_wide_gamut_photo_is_converted_to_srgb() {
        // A Display P3 profile: P3 primaries, D65 white, the sRGB tone curve.
        let d65 = lcms2::CIExyY {
            x: 0.3127,
            y: 0.3290,
            Y: 1.0,
        };
        let p3 = lcms2::CIExyYTRIPLE {
            Red: lcms2::CIExyY {
                x: 0.680,
                y: 0.320,
                Y: 1.0,
            },
            Green: lcms2::CIExyY {
                x: 0.265,
                y: 0.690,
                Y: 1.0,
            },
            Blue: lcms2::CIExyY {
                x: 0.150,
                y: 0.060,
                Y: 1.0,
            },
        };
        let curve = lcms2::ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045]).unwrap();
        let icc = lcms2::Profile::new_rgb(&d65, &p3, &[&curve, &curve, &curve])
            .unwrap()
            .icc()
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("p3.jpg");
        let orange = Rgb([200, 100, 50]);
        let img = RgbImage::from_pixel(64, 64, orange);
        let mut encoder = JpegEncoder::new_with_quality(std::fs::File::create(&src).unwrap(), 95);
        encoder.set_icc_profile(icc).unwrap();
        encoder.write_image(img.as_raw(), 64, 64, image::ExtendedColorType::Rgb8).unwrap();

        let (thumb, prev) = (dir.path().join("t.webp"), dir.path().join("p.jpeg"));
        generate(&src, ".jpg", None, &thumb, &prev, DerivativeSizes::default()).unwrap();
        let p = image::open(&prev).unwrap().into_rgb8();
        let px = p.get_pixel(32, 32);
        // The same colour in sRGB needs a stronger red and a weaker blue.
        assert!(px[0] >= 210 && px[2] <= 45, "P3 {orange:?} became {px:?} in the preview");
        let t = image::open(&thumb).unwrap().into_rgb8();
        let tx = t.get_pixel(32, 32);
        assert!(tx[0] >= 205 && tx[2] <= 50, "thumbnail {tx:?}");
    }

    #[test]
    fn corrupt_and_unsupported_inputs_are_clear_errors_and_leave_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("broken.jpg");
        std::fs::write(&src, b"\xFF\xD8\xFF\xE0 this is not really a jpeg").unwrap();
        let (thumb, prev) = (dir.path().join("t.webp"), dir.path().join("p.jpeg"));
        assert!(matches!(
            generate(&src, ".jpg", None, &thumb, &prev, DerivativeSizes::default()),
            Err(Error::Decode(_))
        ));
        assert!(!thumb.exists() && !prev.exists());
        let err = generate(&src, ".jxl", None, &thumb, &prev, DerivativeSizes::default()).unwrap_err();
        assert!(err.to_string().contains("JPEG XL"), "{err}");
        assert!(!err.is_transient());
        let err = generate(&src, ".heic", None, &thumb, &prev, DerivativeSizes::default()).unwrap_err();
        assert!(matches!(err, Error::Tool { .. } | Error::MissingTool { .. }), "{err}");
    }
}
