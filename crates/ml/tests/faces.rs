//! Face detection with MTCNN's real networks (from ci/fetch-ml.sh) on a
//! real portrait, a photo without people and a picture made here.

mod common;

use image::{Rgb, RgbImage};
use shoebox_ml::faces::FaceDetector;

fn detector() -> FaceDetector {
    FaceDetector::new(&common::runtime(), &common::store(), "mtcnn").unwrap()
}

#[test]
fn a_portrait_has_one_face_with_its_eyes_above_its_mouth() {
    let faces = detector().detect(&common::sample("franz-kafka.jpg"), 0.7).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = &faces[0];
    // The reference implementation's box for this photo: x 184..280, y 73..191.
    let [left, top, right, bottom] = face.bbox;
    for (got, want) in [(left, 184.0), (top, 73.0), (right, 280.0), (bottom, 191.0)] {
        assert!((got - want).abs() < 12.0, "box {:?} is not around the face", face.bbox);
    }
    assert!(face.score > 0.99, "{face:?}");
    let [left_eye, right_eye, nose, mouth_left, mouth_right] = face.landmarks;
    assert!(left_eye[0] < right_eye[0], "{face:?}");
    assert!(
        left_eye[1] < nose[1] && nose[1] < mouth_left[1] && nose[1] < mouth_right[1],
        "{face:?}"
    );
    assert!(
        face.landmarks
            .iter()
            .all(|[x, y]| (left..=right).contains(x) && (top..=bottom).contains(y)),
        "{face:?}"
    );
}

#[test]
fn pictures_without_people_have_no_faces() {
    let detector = detector();
    assert!(detector.detect(&common::sample("CLIP.png"), 0.7).unwrap().is_empty());
    let sky = RgbImage::from_fn(640, 480, |x, y| Rgb([(x / 3) as u8, (y / 2) as u8, 220]));
    assert!(detector.detect(&sky, 0.7).unwrap().is_empty());
    let tiny = RgbImage::new(10, 10);
    assert!(detector.detect(&tiny, 0.7).unwrap().is_empty(), "smaller than the smallest face");
}

#[test]
fn a_face_in_a_larger_scene_is_found_where_it_is() {
    // The portrait pasted into a wider, plain picture, as a group photo
    // would hold a face off-centre.
    let portrait = common::sample("franz-kafka.jpg");
    let mut scene = RgbImage::from_pixel(1400, 900, Rgb([90, 110, 90]));
    image::imageops::overlay(&mut scene, &portrait, 800, 150);
    let faces = detector().detect(&scene, 0.7).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let [left, top, ..] = faces[0].bbox;
    assert!((left - 984.0).abs() < 12.0 && (top - 223.0).abs() < 12.0, "{:?}", faces[0]);
}

/// A grey photo with red squares of `side` pixels at the given top-left corners.
fn red_squares(width: u32, height: u32, side: u32, corners: &[(u32, u32)]) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let red = corners
            .iter()
            .any(|&(cx, cy)| (cx..cx + side).contains(&x) && (cy..cy + side).contains(&y));
        if red { Rgb([255, 0, 0]) } else { Rgb([128, 128, 128]) }
    })
}

#[test]
fn an_immich_face_pack_detects_with_scrfd_and_maps_faces_back_to_the_photo() {
    // ci/make-test-scrfd.py's network: it finds red squares that fill a
    // 32-pixel cell of the 640 x 640 letterbox, landmarks at fixed places.
    let detector = FaceDetector::new(&common::runtime(), &common::store(), "test-buffalo").unwrap();
    assert!(FaceDetector::installed(&common::store(), "test-buffalo"));
    // Wide and tall photos, letterboxed at half size: 64-pixel squares on the 64-pixel grid.
    for (width, height, corner) in [(1280, 960, (640, 320)), (960, 1280, (320, 640))] {
        let photo = red_squares(width, height, 64, &[corner]);
        let faces = detector.detect(&photo, 0.7).unwrap();
        assert_eq!(faces.len(), 1, "{width}x{height}: {faces:?}");
        let (x, y) = (corner.0 as f32, corner.1 as f32);
        let near = |got: f32, want: f32| (got - want).abs() <= 2.0;
        let [left, top, right, bottom] = faces[0].bbox;
        assert!(
            near(left, x) && near(top, y) && near(right, x + 64.0) && near(bottom, y + 64.0),
            "{:?}",
            faces[0]
        );
        let [left_eye, _, nose, ..] = faces[0].landmarks;
        assert!(
            near(left_eye[0], x + 0.3 * 64.0) && near(left_eye[1], y + 0.35 * 64.0),
            "{:?}",
            faces[0]
        );
        assert!(near(nose[0], x + 0.5 * 64.0) && near(nose[1], y + 0.55 * 64.0), "{:?}", faces[0]);
    }
    // Two faces, largest first; none in a photo without red.
    let pair = red_squares(640, 640, 32, &[(64, 64), (320, 320)]);
    assert_eq!(detector.detect(&pair, 0.7).unwrap().len(), 2);
    assert!(
        detector
            .detect(&RgbImage::from_pixel(800, 600, Rgb([128, 128, 128])), 0.7)
            .unwrap()
            .is_empty()
    );
    assert!(detector.detect(&RgbImage::new(1, 1), 0.7).unwrap().is_empty());
}
