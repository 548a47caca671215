//! Text recognition with the real PP-OCR models and ONNX Runtime that
//! ci/fetch-ml.sh takes from PyPI, on images rendered here.

mod common;

use std::time::Duration;

use image::{Rgb, RgbImage};
use shoebox_ml::ocr::{Ocr, Settings};
use shoebox_ml::testing::render_text as render;
use shoebox_ml::{Error, ModelStore, Runtime};

const MODEL: &str = "PP-OCRv6_small";

fn store() -> ModelStore {
    let store = common::store();
    assert!(store.has(MODEL, &Ocr::PARTS), "the OCR model is missing: run ci/fetch-ml.sh");
    store
}

fn words(lines: &[shoebox_ml::ocr::TextLine]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| l.text.split_whitespace().map(str::to_uppercase))
        .collect()
}

#[test]
fn lines_of_text_are_read_in_order_with_boxes_inside_the_image() {
    let ocr = Ocr::new(&common::runtime(), &store(), MODEL).unwrap();
    let image = render(&["SHOEBOX", "Holiday 2026"]);
    let lines = ocr.read(&image, &Settings::default()).unwrap();
    let found = words(&lines);
    assert!(found.contains(&"SHOEBOX".to_owned()), "{lines:?}");
    assert!(
        found.contains(&"HOLIDAY".to_owned()) && found.contains(&"2026".to_owned()),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].corners[0][1] < lines[1].corners[0][1],
        "the upper line comes first: {lines:?}"
    );
    for line in &lines {
        assert!(line.corners.iter().flatten().all(|v| (0.0..=1.0).contains(v)), "{line:?}");
        assert!(line.text_score >= Settings::default().min_recognition_score, "{line:?}");
        assert!(line.box_score >= Settings::default().min_detection_score, "{line:?}");
    }
}

#[test]
fn a_photo_without_text_has_none() {
    let ocr = Ocr::new(&common::runtime(), &store(), MODEL).unwrap();
    let sky = RgbImage::from_fn(800, 600, |x, y| Rgb([(x / 4) as u8, (y / 3) as u8, 200]));
    assert_eq!(ocr.read(&sky, &Settings::default()).unwrap(), vec![]);
}

#[test]
fn an_idle_model_unloads_and_loads_again_on_the_next_image() {
    let ocr = Ocr::new(&common::runtime(), &store(), MODEL).unwrap();
    let image = render(&["SHOEBOX"]);
    assert!(!ocr.is_loaded());
    ocr.read(&image, &Settings::default()).unwrap();
    assert!(ocr.is_loaded());
    assert!(!ocr.unload_if_idle(Duration::from_secs(3600)), "recently used models stay");
    assert!(ocr.unload_if_idle(Duration::ZERO));
    assert!(!ocr.is_loaded());
    assert!(words(&ocr.read(&image, &Settings::default()).unwrap()).contains(&"SHOEBOX".to_owned()));
}

#[test]
fn a_missing_model_or_runtime_is_an_error_that_says_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    let ocr = Ocr::new(&common::runtime(), &ModelStore::new(empty.path()), MODEL).unwrap();
    let err = ocr.read(&render(&["SHOEBOX"]), &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::ModelMissing(_)), "{err}");
    assert!(err.to_string().contains("download the model"), "{err}");

    let err = Runtime::load(&empty.path().join("libonnxruntime.so"), 1).unwrap_err();
    assert!(err.to_string().contains("fetch-ml.sh"), "{err}");

    let err = Ocr::new(&common::runtime(), &store(), "../../etc")
        .err()
        .expect("a path is not a model name");
    assert!(matches!(err, Error::BadModelName(_)), "{err}");
}

#[test]
fn a_damaged_model_file_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    for part in Ocr::PARTS {
        let path = store.path(MODEL, part).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"not an onnx model").unwrap();
    }
    let ocr = Ocr::new(&common::runtime(), &store, MODEL).unwrap();
    let err = ocr.read(&render(&["SHOEBOX"]), &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::Model { .. }), "{err}");
    assert!(err.to_string().contains("download or import it again"), "{err}");
}
