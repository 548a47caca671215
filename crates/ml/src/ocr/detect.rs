//! Text detection: PP-OCR's DB network gives a per-pixel text probability;
//! connected regions of it become rotated boxes, grown by the "unclip"
//! margin the network was trained to leave off.

use image::{GrayImage, Luma, RgbImage, imageops::FilterType};
use imageproc::contours::{BorderType, find_contours};
use imageproc::morphology::{Mask, grayscale_dilate};
use imageproc::point::Point;

use super::{Quad, Settings};

/// Pixels above this probability count as text.
const BINARY_THRESHOLD: f32 = 0.3;
/// How far a box grows, relative to its area over its perimeter.
const UNCLIP_RATIO: f32 = 1.6;
const MAX_CANDIDATES: usize = 1000;
/// Boxes thinner than this (network pixels) are noise.
const MIN_SIDE: f32 = 3.0;
/// A long strip would otherwise be upscaled without bound.
const MAX_SIDE: u32 = 2000;

/// The network's input: the image scaled so its shorter side is
/// `resolution` (both sides multiples of 32), normalised to [-1, 1], in the
/// BGR channel order PP-OCR was trained on. Returns the tensor's shape too.
pub(super) fn input(image: &RgbImage, resolution: u32) -> ([usize; 4], Vec<f32>) {
    let (w, h) = image.dimensions();
    let mut scale = resolution as f32 / w.min(h) as f32;
    scale = scale.min(MAX_SIDE as f32 / w.max(h) as f32);
    let round32 = |side: u32| ((side as f32 * scale / 32.0).round() as u32).max(1) * 32;
    let (nw, nh) = (round32(w), round32(h));
    let resized = image::imageops::resize(image, nw, nh, FilterType::Lanczos3);
    ([1, 3, nh as usize, nw as usize], super::planar_bgr(&resized, nw as usize))
}

/// Boxes (in `source` pixel coordinates, corners clockwise from top-left)
/// and their mean probability, from the network's `width` × `height` map.
pub(super) fn boxes(map: &[f32], width: u32, height: u32, source: (u32, u32), settings: &Settings) -> Vec<(Quad, f32)> {
    let bitmap = GrayImage::from_fn(width, height, |x, y| {
        Luma([if map[(y * width + x) as usize] > BINARY_THRESHOLD { 255 } else { 0 }])
    });
    // Close one-pixel gaps between strokes, as PP-OCR's own pipeline does.
    let dilated = grayscale_dilate(&bitmap, &Mask::from_image(&GrayImage::from_pixel(2, 2, Luma([255])), 1, 1));
    let scale = (source.0 as f32 / width as f32, source.1 as f32 / height as f32);
    let mut found: Vec<(Quad, f32)> = find_contours::<i32>(&dilated)
        .into_iter()
        .filter(|c| c.border_type == BorderType::Outer)
        .take(MAX_CANDIDATES)
        .filter_map(|contour| {
            let points: Vec<Point<f32>> = contour.points.iter().map(|p| Point::new(p.x as f32, p.y as f32)).collect();
            let rect = Rect::around(&points);
            if rect.short_side() < MIN_SIDE {
                return None;
            }
            let score = mean_inside(map, width, height, &rect.corners);
            if score < settings.min_detection_score {
                return None;
            }
            let grown = rect.unclip(UNCLIP_RATIO);
            if grown.short_side() < MIN_SIDE + 2.0 {
                return None;
            }
            let quad = clockwise(grown.corners.map(|[x, y]| {
                [
                    (x * scale.0).round().clamp(0.0, source.0 as f32 - 1.0),
                    (y * scale.1).round().clamp(0.0, source.1 as f32 - 1.0),
                ]
            }));
            (distance(quad[0], quad[1]) > MIN_SIDE && distance(quad[0], quad[3]) > MIN_SIDE).then_some((quad, score))
        })
        .collect();
    reading_order(&mut found);
    found
}

/// A rotated rectangle by its corners, in order around it.
struct Rect {
    corners: Quad,
}

impl Rect {
    fn around(points: &[Point<f32>]) -> Rect {
        Rect {
            corners: imageproc::geometry::min_area_rect(points).map(|p| [p.x, p.y]),
        }
    }

    fn sides(&self) -> (f32, f32) {
        let c = &self.corners;
        (distance(c[0], c[1]), distance(c[1], c[2]))
    }

    fn short_side(&self) -> f32 {
        let (a, b) = self.sides();
        a.min(b)
    }

    /// Offsetting a rectangle outwards by `d` and taking the smallest
    /// rectangle around the result gives the rectangle `d` larger on every
    /// side, so no general polygon offsetting is needed.
    fn unclip(&self, ratio: f32) -> Rect {
        let (a, b) = self.sides();
        if a == 0.0 || b == 0.0 {
            return Rect { corners: self.corners };
        }
        let d = a * b * ratio / (2.0 * (a + b));
        let c = &self.corners;
        let center = [(c[0][0] + c[2][0]) / 2.0, (c[0][1] + c[2][1]) / 2.0];
        let unit = |p: [f32; 2], q: [f32; 2], len: f32| [(q[0] - p[0]) / len, (q[1] - p[1]) / len];
        let (u, v) = (unit(c[0], c[1], a), unit(c[1], c[2], b));
        let (hu, hv) = (a / 2.0 + d, b / 2.0 + d);
        let corner = |su: f32, sv: f32| {
            [
                center[0] + su * hu * u[0] + sv * hv * v[0],
                center[1] + su * hu * u[1] + sv * hv * v[1],
            ]
        };
        Rect {
            corners: [corner(-1.0, -1.0), corner(1.0, -1.0), corner(1.0, 1.0), corner(-1.0, 1.0)],
        }
    }
}

/// The mean probability over the pixels inside a convex quadrilateral.
fn mean_inside(map: &[f32], width: u32, height: u32, quad: &Quad) -> f32 {
    let (xs, ys) = (quad.map(|p| p[0]), quad.map(|p| p[1]));
    let lo = |v: [f32; 4], max: u32| (v.iter().copied().fold(f32::MAX, f32::min).floor().max(0.0) as u32).min(max - 1);
    let hi = |v: [f32; 4], max: u32| (v.iter().copied().fold(f32::MIN, f32::max).ceil().max(0.0) as u32).min(max - 1);
    let (mut sum, mut count) = (0.0f64, 0u32);
    for y in lo(ys, height)..=hi(ys, height) {
        for x in lo(xs, width)..=hi(xs, width) {
            if inside(quad, [x as f32, y as f32]) {
                sum += f64::from(map[(y * width + x) as usize]);
                count += 1;
            }
        }
    }
    if count == 0 { 0.0 } else { (sum / f64::from(count)) as f32 }
}

/// Inside or on the edge of a convex polygon: the point is on the same side
/// of every edge.
fn inside(quad: &Quad, p: [f32; 2]) -> bool {
    let cross = |a: [f32; 2], b: [f32; 2]| (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
    let signs: Vec<f32> = (0..4).map(|i| cross(quad[i], quad[(i + 1) % 4])).collect();
    signs.iter().all(|&s| s >= -0.5) || signs.iter().all(|&s| s <= 0.5)
}

/// Top-left, top-right, bottom-right, bottom-left.
fn clockwise(mut corners: Quad) -> Quad {
    corners.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (mut left, mut right) = ([corners[0], corners[1]], [corners[2], corners[3]]);
    left.sort_by(|a, b| a[1].total_cmp(&b[1]));
    right.sort_by(|a, b| a[1].total_cmp(&b[1]));
    [left[0], right[0], right[1], left[1]]
}

/// Lines top to bottom; boxes on the same line (tops within 10 px) left to right.
fn reading_order(found: &mut [(Quad, f32)]) {
    found.sort_by(|a, b| a.0[0][1].total_cmp(&b.0[0][1]).then(a.0[0][0].total_cmp(&b.0[0][0])));
    for i in 1..found.len() {
        let mut j = i;
        while j > 0 && (found[j].0[0][1] - found[j - 1].0[0][1]).abs() < 10.0 && found[j].0[0][0] < found[j - 1].0[0][0] {
            found.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::default()
    }

    /// A probability map with `value` inside the given axis-aligned boxes.
    fn map_with(width: u32, height: u32, boxes: &[(u32, u32, u32, u32)], value: f32) -> Vec<f32> {
        let mut map = vec![0.0; (width * height) as usize];
        for &(x0, y0, x1, y1) in boxes {
            for y in y0..y1 {
                for x in x0..x1 {
                    map[(y * width + x) as usize] = value;
                }
            }
        }
        map
    }

    #[test]
    fn two_text_regions_become_two_grown_boxes_in_reading_order_scaled_to_the_source() {
        let map = map_with(200, 100, &[(120, 20, 180, 30), (10, 60, 90, 80)], 0.9);
        let found = boxes(&map, 200, 100, (400, 200), &settings());
        assert_eq!(found.len(), 2, "{found:?}");
        let (first, second) = (&found[0].0, &found[1].0);
        // The upper line first, then the lower one.
        assert!(first[0][1] < second[0][1], "{found:?}");
        // Twice the network's size, grown by the unclip margin.
        assert!(first[0][0] < 240.0 && first[1][0] > 358.0, "{first:?}");
        assert!(first[0][1] < 40.0 && first[2][1] > 58.0, "{first:?}");
        assert!(second[0][0] < 20.0 && second[2][1] > 158.0, "{second:?}");
        assert!(found.iter().all(|(_, score)| *score > 0.8));
    }

    #[test]
    fn faint_regions_and_specks_are_not_text() {
        let faint = map_with(100, 100, &[(10, 10, 60, 30)], 0.4);
        assert!(boxes(&faint, 100, 100, (100, 100), &settings()).is_empty());
        let speck = map_with(100, 100, &[(10, 10, 12, 12)], 0.99);
        assert!(boxes(&speck, 100, 100, (100, 100), &settings()).is_empty());
    }

    #[test]
    fn a_tilted_line_keeps_its_angle() {
        let mut map = vec![0.0; 200 * 200];
        for i in 0..120u32 {
            for t in 0..10u32 {
                let (x, y) = (40 + i, 60 + i / 2 + t);
                map[(y * 200 + x) as usize] = 0.95;
            }
        }
        let found = boxes(&map, 200, 200, (200, 200), &settings());
        assert_eq!(found.len(), 1, "{found:?}");
        let q = found[0].0;
        // The right end sits lower than the left: the box follows the slope.
        assert!(q[1][1] - q[0][1] > 40.0, "{q:?}");
    }

    #[test]
    fn the_input_is_a_multiple_of_32_with_the_short_side_at_the_resolution() {
        let image = RgbImage::from_pixel(1440, 1080, image::Rgb([255, 0, 0]));
        let (shape, data) = input(&image, 736);
        assert_eq!(shape, [1, 3, 736, 992]);
        // Pure red in BGR order: blue plane -1, red plane +1.
        let plane = 736 * 992;
        assert_eq!((data[0], data[2 * plane]), (-1.0, 1.0));
        let strip = RgbImage::new(4000, 40);
        assert!(input(&strip, 736).0[3] <= 2016, "a strip is not upscaled without bound");
    }
}
