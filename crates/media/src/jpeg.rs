//! JPEG decoding and encoding with libjpeg-turbo's code, as the `mozjpeg`
//! crate builds it: NEON on ARM, SSE2/AVX2 on x86-64 when `nasm` is there
//! at build time (plain C otherwise). Decoding runs at a reduced DCT scale
//! when the caller needs fewer pixels; encoding uses libjpeg-turbo's own
//! settings, not mozjpeg's slow trellis search.
//!
//! libjpeg reports errors by unwinding out of its callbacks, so every call
//! into it runs inside `catch_unwind`.

use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::RgbImage;
use mozjpeg::{ColorSpace, Compress, Decompress, Marker};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr, msg_parm_union};

use crate::{Error, Result};

/// Largest original we decode here: a 268 MP panorama. Progressive JPEGs
/// hold every coefficient of the full image while decoding (6 bytes a
/// pixel), so a forged header must not get that far.
const MAX_PIXELS: u64 = 1 << 28;

pub struct Decoded {
    pub image: RgbImage,
    pub icc: Option<Vec<u8>>,
    /// The original's size; `image` may be smaller.
    pub full_size: (u32, u32),
}

/// Decodes a JPEG at the smallest scale of n/8 (n = 1…8) whose shorter
/// side still covers `short_side`. Any warning from libjpeg (a truncated
/// file, corrupt data) fails the decode: the caller's general decoder,
/// which is more lenient, decides about such files.
pub fn decode(reader: impl BufRead, short_side: u32) -> Result<Decoded> {
    guarded(|| {
        let mut decoder = Decompress::with_err(strict_errors())
            .with_markers(&[Marker::APP(2)])
            .from_reader(reader)
            .map_err(|e| Error::Decode(e.to_string()))?;
        let full_size = (dimension(decoder.width())?, dimension(decoder.height())?);
        if u64::from(full_size.0) * u64::from(full_size.1) > MAX_PIXELS {
            return Err(Error::Decode(format!(
                "the JPEG is {}×{} pixels, more than this server decodes",
                full_size.0, full_size.1
            )));
        }
        decoder.scale(scale_for(full_size.0.min(full_size.1), short_side));
        let icc = icc_profile(decoder.markers().filter(|m| m.marker == Marker::APP(2)).map(|m| m.data));
        let mut started = decoder.rgb().map_err(|e| Error::Decode(e.to_string()))?;
        let (w, h) = (dimension(started.width())?, dimension(started.height())?);
        let pixels = started.read_scanlines::<u8>().map_err(|e| Error::Decode(e.to_string()))?;
        started.finish().map_err(|e| Error::Decode(e.to_string()))?;
        let image = RgbImage::from_raw(w, h, pixels)
            .ok_or_else(|| Error::Decode("the JPEG decoded to fewer pixels than its header says".into()))?;
        Ok(Decoded { image, icc, full_size })
    })
    .map_err(|message| Error::Decode(message.unwrap_or_else(|| "libjpeg could not decode it".into())))?
}

/// Writes `image` as a baseline JPEG with 4:4:4 chroma and optimised
/// Huffman tables, as Immich's previews are made.
pub fn encode(out: impl Write, image: &RgbImage, quality: u8) -> Result<()> {
    guarded(|| {
        let mut compress = Compress::new(ColorSpace::JCS_RGB);
        compress.set_fastest_defaults();
        compress.set_size(image.width() as usize, image.height() as usize);
        compress.set_quality(f32::from(quality));
        compress.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
        compress.set_optimize_coding(true);
        let mut started = compress.start_compress(out)?;
        started.write_scanlines(image.as_raw())?;
        started.finish().map(drop)
    })
    .map_err(|message| Error::Encode(message.unwrap_or_else(|| "libjpeg could not encode the image".into())))?
    .map_err(|e| Error::Encode(e.to_string()))
}

/// The numerator n of the n/8 scale libjpeg decodes at: the smallest
/// whose shorter side (rounded up, as libjpeg does) is at least `target`.
fn scale_for(short: u32, target: u32) -> u8 {
    (1..8u8)
        .find(|&n| (u64::from(short) * u64::from(n)).div_ceil(8) >= u64::from(target.max(1)))
        .unwrap_or(8)
}

fn dimension(value: usize) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::Decode("the JPEG's size is out of range".into()))
}

/// Reassembles an ICC profile from its APP2 chunks ("ICC_PROFILE\0", then
/// the chunk's number and the count), which may come in any order.
fn icc_profile<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    const TAG: &[u8] = b"ICC_PROFILE\0";
    let mut parts: Vec<(u8, &[u8])> = chunks
        .filter_map(|data| data.strip_prefix(TAG))
        .filter_map(|rest| Some((*rest.first()?, rest.get(2..)?)))
        .collect();
    parts.sort_by_key(|(number, _)| *number);
    (!parts.is_empty()).then(|| parts.into_iter().flat_map(|(_, data)| data.iter().copied()).collect())
}

/// Runs `f`, turning libjpeg's unwinding errors into `Err` with the
/// message, when it carried one.
fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, Option<String>> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
    })
}

/// An error manager for which every warning is an error. The crate's own
/// one silences warnings, and libjpeg then fills a truncated file's rest
/// with grey, which would make a grey thumbnail of a broken photo.
fn strict_errors() -> jpeg_error_mgr {
    jpeg_error_mgr {
        error_exit: Some(fail),
        emit_message: Some(warning_fails),
        output_message: Some(ignore),
        format_message: Some(no_text),
        reset_error_mgr: Some(ignore),
        msg_code: 0,
        msg_parm: msg_parm_union { _bindgen_data_: [0; 20] },
        trace_level: 0,
        num_warnings: 0,
        jpeg_message_table: std::ptr::null(),
        last_jpeg_message: 0,
        addon_message_table: std::ptr::null(),
        first_addon_message: 0,
        last_addon_message: 0,
    }
}

extern "C-unwind" fn fail(_: &mut jpeg_common_struct) {
    std::panic::resume_unwind(Box::new("the JPEG data is corrupt"));
}

/// Level −1 is a warning; higher levels are trace messages.
extern "C-unwind" fn warning_fails(cinfo: &mut jpeg_common_struct, level: std::os::raw::c_int) {
    if level < 0 {
        fail(cinfo);
    }
}

extern "C-unwind" fn ignore(_: &mut jpeg_common_struct) {}

extern "C-unwind" fn no_text(_: &mut jpeg_common_struct, _: &[u8; 80]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_the_smallest_that_covers_the_target() {
        assert_eq!(scale_for(3000, 1440), 4, "12 MP: half size, 1500 px");
        assert_eq!(scale_for(4000, 1440), 3, "24 MP: 3/8, 1500 px");
        assert_eq!(scale_for(1600, 1440), 8, "7/8 would be 1400 px, too small");
        assert_eq!(scale_for(8334, 1440), 2, "100 MP: a quarter, 2084 px");
        assert_eq!(scale_for(100, 1440), 8, "never enlarged, never below full size");
    }

    #[test]
    fn an_icc_profile_is_put_together_from_its_chunks_in_order() {
        let chunk = |n: u8, data: &[u8]| [b"ICC_PROFILE\0".as_slice(), &[n, 2], data].concat();
        let (second, first) = (chunk(2, b"world"), chunk(1, b"hello "));
        let profile = icc_profile([second.as_slice(), b"Other APP2", first.as_slice()].into_iter());
        assert_eq!(profile.as_deref(), Some(b"hello world".as_slice()));
        assert_eq!(icc_profile([b"no profile here".as_slice()].into_iter()), None);
    }

    #[test]
    fn a_truncated_file_and_a_round_trip() {
        let image = RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut bytes = Vec::new();
        encode(&mut bytes, &image, 90).unwrap();
        let decoded = decode(bytes.as_slice(), 240).unwrap();
        assert_eq!(decoded.full_size, (640, 480));
        assert_eq!(decoded.image.dimensions(), (320, 240), "decoded at half scale");
        let err = decode(&bytes[..bytes.len() / 2], 240)
            .err()
            .expect("a truncated JPEG must not decode");
        assert!(matches!(err, Error::Decode(_)), "{err}");
    }
}
