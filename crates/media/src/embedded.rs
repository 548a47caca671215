//! The JPEG previews that cameras embed in RAW files (CR2, NEF, ARW, DNG,
//! ORF, RAF, CR3, ...). Rather than walking each maker's container, we scan
//! for JPEG start-of-image markers and keep the largest image whose header
//! decodes: RAW sensor data is never a baseline/progressive JPEG, so it
//! fails the header check and is skipped.

use std::io::Cursor;

use image::ImageDecoder;
use image::codecs::jpeg::JpegDecoder;

/// Offset and pixel size of the largest decodable embedded JPEG.
pub(crate) fn largest_jpeg(bytes: &[u8]) -> Option<(usize, u32, u32)> {
    let mut best: Option<(usize, u32, u32)> = None;
    let mut at = 0;
    while let Some(pos) = bytes[at..].windows(3).position(|w| w == [0xFF, 0xD8, 0xFF]) {
        let start = at + pos;
        at = start + 3;
        let Ok(decoder) = JpegDecoder::new(Cursor::new(&bytes[start..])) else {
            continue;
        };
        let (w, h) = decoder.dimensions();
        if best.is_none_or(|(_, bw, bh)| u64::from(w) * u64::from(h) > u64::from(bw) * u64::from(bh)) {
            best = Some((start, w, h));
        }
    }
    best
}
