//! Photos of text, rendered for tests (nothing ships a labelled photo set).

use ab_glyph::{FontVec, PxScale};
use image::{Rgb, RgbImage};

/// Dark text on a light page, one line per entry, about as large as a sign
/// in a photo. Uses DejaVu Sans (Debian's fonts-dejavu-core).
pub fn render_text(lines: &[&str]) -> RgbImage {
    let path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let font = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}; run ci/install-test-deps.sh"));
    let font = FontVec::try_from_vec(font).expect("a valid font");
    let mut image = RgbImage::from_pixel(1000, 750, Rgb([250, 248, 240]));
    for (i, line) in lines.iter().enumerate() {
        let y = 150 + i as i32 * 200;
        imageproc::drawing::draw_text_mut(&mut image, Rgb([20, 20, 20]), 80, y, PxScale::from(90.0), &font, line);
    }
    image
}
