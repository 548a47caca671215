//! Text recognition: each detected box is cut out straight, scaled to the
//! network's height, and read by a CTC decoder over the model's own
//! character list.

use image::{RgbImage, imageops::FilterType};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, warp_into};

use super::Quad;

/// The recogniser's input height; widths vary per batch.
const HEIGHT: u32 = 48;
/// The narrowest batch, as a width-to-height ratio (320 × 48).
const MIN_RATIO: f32 = 320.0 / 48.0;

/// The box's contents as an upright image (a tall box is turned a quarter
/// turn anticlockwise, as vertical text is usually set).
pub(super) fn crop(image: &RgbImage, quad: &Quad) -> Option<RgbImage> {
    let side = |a: usize, b: usize| (quad[a][0] - quad[b][0]).hypot(quad[a][1] - quad[b][1]);
    let width = side(0, 1).max(side(3, 2)).round() as u32;
    let height = side(0, 3).max(side(1, 2)).round() as u32;
    if width == 0 || height == 0 {
        return None;
    }
    let (w, h) = (width as f32, height as f32);
    let from = quad.map(|p| (p[0], p[1]));
    let projection = Projection::from_control_points(from, [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)])?;
    let mut out = RgbImage::new(width, height);
    warp_into(image, projection, Interpolation::Bicubic, Border::Replicate, &mut out);
    Some(if h / w >= 1.5 { image::imageops::rotate270(&out) } else { out })
}

/// One batch's input: every crop scaled to the network's height, left
/// aligned and zero padded to the widest one. Returns the shape too.
pub(super) fn batch(crops: &[&RgbImage]) -> ([usize; 4], Vec<f32>) {
    let ratio = |c: &RgbImage| c.width() as f32 / c.height() as f32;
    let widest = crops.iter().map(|c| ratio(c)).fold(MIN_RATIO, f32::max);
    let width = (HEIGHT as f32 * widest) as usize;
    let plane = HEIGHT as usize * width;
    let mut data = vec![0.0; crops.len() * 3 * plane];
    for (crop, chunk) in crops.iter().zip(data.chunks_mut(3 * plane)) {
        let scaled_width = ((HEIGHT as f32 * ratio(crop)).ceil() as u32).clamp(1, width as u32);
        let scaled = image::imageops::resize(*crop, scaled_width, HEIGHT, FilterType::Triangle);
        let planar = super::planar_bgr(&scaled, scaled_width as usize);
        let row = scaled_width as usize;
        for (channel, plane_data) in planar.chunks(row * HEIGHT as usize).enumerate() {
            for (y, line) in plane_data.chunks(row).enumerate() {
                let start = channel * plane + y * width;
                chunk[start..start + row].copy_from_slice(line);
            }
        }
    }
    ([crops.len(), 3, HEIGHT as usize, width], data)
}

/// Greedy CTC decoding of one batch's `[n, steps, classes]` probabilities:
/// the most likely class per step, repeats merged, blanks (class 0)
/// dropped. Class `i` is `characters[i - 1]`; the class after the last
/// character is a space. The score is the mean probability of the kept steps.
pub(super) fn decode(probabilities: &[f32], steps: usize, classes: usize, characters: &[String]) -> Vec<(String, f32)> {
    probabilities
        .chunks(steps * classes)
        .map(|sequence| {
            let (mut text, mut scores, mut previous) = (String::new(), Vec::new(), 0usize);
            for step in sequence.chunks(classes) {
                let (best, p) = step
                    .iter()
                    .copied()
                    .enumerate()
                    .fold((0, f32::MIN), |acc, (i, p)| if p > acc.1 { (i, p) } else { acc });
                if best != 0 && best != previous {
                    text.push_str(characters.get(best - 1).map_or(" ", String::as_str));
                    scores.push(p);
                }
                previous = best;
            }
            let score = if scores.is_empty() {
                0.0
            } else {
                scores.iter().sum::<f32>() / scores.len() as f32
            };
            (text, score)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(classes: usize, picks: &[(usize, f32)]) -> Vec<f32> {
        picks
            .iter()
            .flat_map(|&(class, p)| (0..classes).map(move |i| if i == class { p } else { (1.0 - p) / (classes - 1) as f32 }))
            .collect()
    }

    #[test]
    fn ctc_merges_repeats_drops_blanks_and_keeps_doubled_letters_split_by_a_blank() {
        let characters: Vec<String> = ["a", "b", "l"].map(String::from).into();
        // "b a l l" with the double l separated by a blank, repeats merged, then a space.
        let steps = [(2, 0.9), (2, 0.9), (1, 0.8), (0, 0.99), (3, 0.7), (0, 0.99), (3, 0.9), (4, 0.6)];
        let probabilities = one_hot(5, &steps);
        let decoded = decode(&probabilities, steps.len(), 5, &characters);
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].0, "ball ");
        let expected = (0.9 + 0.8 + 0.7 + 0.9 + 0.6) / 5.0;
        assert!((decoded[0].1 - expected).abs() < 1e-5, "{decoded:?}");
    }

    #[test]
    fn a_tilted_box_is_cut_out_straight_and_a_tall_one_turned() {
        let mut image = RgbImage::from_pixel(100, 100, image::Rgb([255, 255, 255]));
        for y in 40..50 {
            for x in 20..80 {
                image.put_pixel(x, y, image::Rgb([0, 0, 0]));
            }
        }
        let crop_wide = crop(&image, &[[20.0, 40.0], [80.0, 40.0], [80.0, 50.0], [20.0, 50.0]]).unwrap();
        assert_eq!(crop_wide.dimensions(), (60, 10));
        assert!(crop_wide.get_pixel(30, 5).0[0] < 60, "the crop holds the dark bar");
        let tall = crop(&image, &[[40.0, 10.0], [50.0, 10.0], [50.0, 90.0], [40.0, 90.0]]).unwrap();
        assert_eq!(tall.dimensions(), (80, 10));
    }

    #[test]
    fn a_batch_pads_every_crop_to_the_widest() {
        let narrow = RgbImage::from_pixel(48, 48, image::Rgb([255, 255, 255]));
        let wide = RgbImage::from_pixel(960, 48, image::Rgb([255, 255, 255]));
        let (shape, data) = batch(&[&narrow, &wide]);
        assert_eq!(shape, [2, 3, 48, 960]);
        // The narrow crop: white (1.0) then zero padding.
        assert_eq!((data[0], data[47], data[48]), (1.0, 1.0, 0.0));
        // The wide crop is white to its right edge.
        assert_eq!(data[3 * 48 * 960 + 959], 1.0);
    }
}
