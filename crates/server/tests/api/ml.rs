//! Machine learning end to end, with ONNX Runtime and the models from
//! ci/fetch-ml.sh: PP-OCR reads an uploaded photo of a sign and its words
//! find it; MTCNN finds the face in a portrait; test-clip (CLIP's real
//! tokenizer, generated networks that embed colours) ranks photos for a
//! query; without the runtime the server runs on and the work waits.

use std::path::{Path, PathBuf};

use crate::common::sync::{ack, app_stream, of_type, position};
use crate::common::{Server, eventually, schema, send};
use serde_json::{Value, json};

pub fn ml_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ml");
    assert!(
        dir.join("runtime/libonnxruntime.so").is_file(),
        "ONNX Runtime is missing: run ci/fetch-ml.sh"
    );
    dir
}

/// A config file pointing at the runtime (or a path where there is none)
/// and the models ci/fetch-ml.sh unpacked.
fn config(dir: &Path, runtime: &Path) -> PathBuf {
    let ml = ml_dir();
    let file = dir.join("ml.toml");
    std::fs::write(
        &file,
        format!(
            "[ml]\nruntime = {:?}\nmodels_dir = {:?}\nclip_model = \"test-clip\"\nocr_model = \"PP-OCRv6_small\"\nface_model = \"mtcnn\"\nidle_unload_seconds = 1\n",
            runtime,
            ml.join("models")
        ),
    )
    .unwrap();
    file
}

fn start(data: &Path, config: &Path) -> Server {
    Server::start_with(data, &["--config", config.to_str().unwrap()])
}

/// A server with the runtime and models, on a data folder in `dir`.
fn start_with_runtime(dir: &Path) -> Server {
    start(&dir.join("data"), &config(dir, &ml_dir().join("runtime/libonnxruntime.so")))
}

fn png(lines: &[&str]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    shoebox_ml::testing::render_text(lines)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn ocr(server: &Server, token: &str, id: &str) -> (u16, Value) {
    send(server.get(&format!("/api/assets/{id}/ocr")).bearer_auth(token))
}

fn search(server: &Server, token: &str, words: &str) -> Vec<String> {
    server.found(token, json!({ "ocr": words }))
}

/// A photo of one colour, a little different for each `shade`.
fn plain(colour: [u8; 3], shade: u8) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let pixel = image::Rgb(colour.map(|c| c.saturating_sub(shade)));
    image::RgbImage::from_pixel(96, 64, pixel)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn smart(server: &Server, token: &str, query: Value) -> (u16, Value) {
    send(server.post("/api/search/smart").bearer_auth(token).json(&query))
}

fn ids(body: &Value) -> Vec<String> {
    let items = body["assets"]["items"].as_array().unwrap_or_else(|| panic!("{body}"));
    items.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

fn texts(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_uppercase())
        .collect()
}

#[test]
fn a_photo_of_a_sign_is_read_and_found_by_its_words_by_its_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_runtime(dir.path());
    let admin = server.admin();
    let other = server.user(&admin, "other@example.com");
    let sign = server.created(&admin, "sign.png", png(&["SHOEBOX", "Holiday 2026"]));
    let plain = server.photo(&admin, 7);
    server.wait_idle(&admin);

    let (status, body) = ocr(&server, &admin, &sign);
    assert_eq!(status, 200, "{body}");
    schema::check("get", "/assets/{id}/ocr", 200, &body);
    assert_eq!(texts(&body), ["SHOEBOX", "HOLIDAY 2026"], "{body}");
    for line in body.as_array().unwrap() {
        assert_eq!(line["assetId"], sign.as_str());
        for corner in ["x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4"] {
            let v = line[corner].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{corner} = {v} is a fraction of the image: {line}");
        }
    }
    assert_eq!(ocr(&server, &admin, &plain).1, json!([]), "a photo without text has none");

    assert_eq!(search(&server, &admin, "shoebox"), [sign.as_str()]);
    assert_eq!(search(&server, &admin, "holiday SHOEBOX"), [sign.as_str()]);
    assert!(search(&server, &admin, "beach").is_empty());
    assert!(search(&server, &other, "shoebox").is_empty(), "another user's photo stays theirs");
    let (status, _) = ocr(&server, &other, &sign);
    assert!(matches!(status, 400 | 403 | 404), "another user cannot read the text: {status}");

    let (status, body) = send(server.get("/api/shoebox/status").bearer_auth(&admin));
    assert_eq!(status, 200, "{body}");
    let ml = &body["machineLearning"];
    assert!(ml["runtime"]["library"].is_string(), "{ml}");
    assert_eq!(
        (ml["models"][0]["task"].as_str(), ml["models"][0]["enabled"].as_bool()),
        (Some("ocr"), Some(true)),
        "{ml}"
    );
    // No librknnrt.so here: every model runs on the CPU, and the status says so.
    assert!(ml["npu"].is_null(), "{ml}");
    assert!(ml["models"].as_array().unwrap().iter().all(|m| m["backend"] == "cpu"), "{ml}");
    // Unused models are freed after their idle time (one second here).
    eventually("the OCR model is unloaded when idle", || {
        send(server.get("/api/shoebox/status").bearer_auth(&admin)).1["machineLearning"]["models"][0]["loaded"] == false
    });

    // Reading everything again gives the same answer, not a second copy.
    let (status, body) = send(
        server
            .put("/api/jobs/ocr")
            .bearer_auth(&admin)
            .json(&json!({ "command": "start", "force": true })),
    );
    assert_eq!(status, 200, "{body}");
    schema::check("put", "/jobs/{name}", 200, &body);
    server.wait_idle(&admin);
    assert_eq!(texts(&ocr(&server, &admin, &sign).1), ["SHOEBOX", "HOLIDAY 2026"]);
}

#[test]
fn without_the_runtime_photos_are_served_and_their_text_is_read_once_it_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let missing = dir.path().join("nowhere/libonnxruntime.so");
    let server = start(&data, &config(dir.path(), &missing));
    let admin = server.admin();
    let sign = server.created(&admin, "sign.png", png(&["SHOEBOX"]));
    server.wait_idle(&admin);
    let thumbnail = server
        .get(&format!("/api/assets/{sign}/thumbnail"))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(thumbnail.status(), 200, "photos are served without machine learning");
    assert_eq!(ocr(&server, &admin, &sign).1, json!([]));
    let (_, status) = send(server.get("/api/shoebox/status").bearer_auth(&admin));
    let error = status["machineLearning"]["runtime"]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("nowhere") && error.contains("[ml] runtime"),
        "the status says what is missing: {status}"
    );
    let (code, body) = send(server.put("/api/jobs/ocr").bearer_auth(&admin).json(&json!({ "command": "start" })));
    assert_eq!(code, 409, "{body}");
    let (code, body) = smart(&server, &admin, json!({ "query": "red" }));
    assert_eq!(code, 400, "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("CLIP model"), "{body}");
    assert_eq!(send(server.get("/api/server/features")).1["smartSearch"], false);
    assert!(
        body["message"].as_str().unwrap_or_default().contains("install ONNX Runtime"),
        "{body}"
    );
    server.stop();

    // The runtime arrives (an update, an admin): the photo is read at start.
    let server = start(&data, &config(dir.path(), &ml_dir().join("runtime/libonnxruntime.so")));
    let admin = server.login("admin@example.com", crate::common::PASSWORD);
    server.wait_idle(&admin);
    assert_eq!(texts(&ocr(&server, &admin, &sign).1), ["SHOEBOX"]);
}

#[test]
fn the_face_in_a_portrait_is_found_and_a_diagram_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_runtime(dir.path());
    let admin = server.admin();
    let other = server.user(&admin, "other@example.com");
    let sample = |name: &str| std::fs::read(ml_dir().join("samples").join(name)).unwrap();
    let portrait = server.created(&admin, "kafka.jpg", sample("franz-kafka.jpg"));
    let diagram = server.created(&admin, "clip.png", sample("CLIP.png"));
    server.wait_idle(&admin);

    let faces = |token: &str, id: &str| send(server.get(&format!("/api/faces?id={id}")).bearer_auth(token));
    let (status, body) = faces(&admin, &portrait);
    assert_eq!(status, 200, "{body}");
    schema::check("get", "/faces", 200, &body);
    let found = body.as_array().unwrap();
    assert_eq!(found.len(), 1, "{body}");
    let face = &found[0];
    // The preview of a 450 × 655 photo is the photo's size; the face is at
    // about x 184..280, y 73..191 in it.
    assert_eq!(
        (face["imageWidth"].as_i64(), face["imageHeight"].as_i64()),
        (Some(450), Some(655)),
        "{face}"
    );
    for (key, want) in [
        ("boundingBoxX1", 184),
        ("boundingBoxY1", 73),
        ("boundingBoxX2", 280),
        ("boundingBoxY2", 191),
    ] {
        let got = face[key].as_i64().unwrap();
        assert!((got - want).abs() < 15, "{key} = {got}, expected about {want}: {face}");
    }
    assert_eq!(faces(&admin, &diagram).1, json!([]));
    let (status, _) = faces(&other, &portrait);
    assert!(matches!(status, 400 | 403 | 404), "another user's faces stay theirs: {status}");

    let (_, status) = send(server.get("/api/shoebox/status").bearer_auth(&admin));
    let models = status["machineLearning"]["models"].as_array().unwrap().clone();
    let detection = models
        .iter()
        .find(|m| m["task"] == "faceDetection")
        .expect("face detection is listed");
    assert_eq!(
        (detection["installed"].as_bool(), detection["enabled"].as_bool()),
        (Some(true), Some(true)),
        "{detection}"
    );
}

#[test]
fn photos_are_found_by_what_they_show_with_filters_and_pages_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_runtime(dir.path());
    let admin = server.admin();
    let other = server.user(&admin, "other@example.com");
    let red = server.created(&admin, "red.png", plain([230, 20, 20], 0));
    let dark_red = server.created(&admin, "dark-red.png", plain([230, 20, 20], 60));
    let green = server.created(&admin, "green.png", plain([20, 210, 30], 0));
    let blue = server.created(&admin, "blue.png", plain([20, 30, 230], 0));
    server.wait_idle(&admin);
    assert_eq!(send(server.get("/api/server/features")).1["smartSearch"], true);

    let (status, body) = smart(&server, &admin, json!({ "query": "a red photo" }));
    assert_eq!(status, 200, "{body}");
    schema::check("post", "/search/smart", 200, &body);
    let found = ids(&body);
    assert_eq!(found.len(), 4, "every photo is ranked: {body}");
    let reds = [red.clone(), dark_red.clone()];
    assert!(
        reds.contains(&found[0]) && reds.contains(&found[1]),
        "the red ones first: {found:?}"
    );
    assert_eq!(body["assets"]["nextPage"], Value::Null);
    let first = |query: &str| ids(&smart(&server, &admin, json!({ "query": query })).1)[0].clone();
    assert_eq!(first("blue water"), blue);
    assert_eq!(first("green grass"), green);

    // Pages follow the ranking.
    let page = |n: u32| smart(&server, &admin, json!({ "query": "red", "size": 3, "page": n })).1;
    let one = page(1);
    assert_eq!((ids(&one), one["assets"]["nextPage"].as_str()), (found[..3].to_vec(), Some("2")));
    let two = page(2);
    assert_eq!((ids(&two), &two["assets"]["nextPage"]), (found[3..].to_vec(), &Value::Null));

    // Filters apply to the ranking: the red query among favourites only.
    let (status, _) = send(
        server
            .put(&format!("/api/assets/{blue}"))
            .bearer_auth(&admin)
            .json(&json!({ "isFavorite": true })),
    );
    assert_eq!(status, 200);
    let favourites = smart(&server, &admin, json!({ "query": "red", "isFavorite": true })).1;
    assert_eq!(ids(&favourites), std::slice::from_ref(&blue));
    let (status, _) = send(server.delete("/api/assets").bearer_auth(&admin).json(&json!({ "ids": [red] })));
    assert_eq!(status, 204);
    assert_eq!(first("red"), dark_red, "a trashed photo is left out");

    // More like this photo.
    let (status, body) = smart(&server, &admin, json!({ "queryAssetId": green }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body)[0], green);

    // Another user's search sees none of it, nor can it start from it.
    let (status, body) = smart(&server, &other, json!({ "query": "red" }));
    assert_eq!((status, ids(&body).len()), (200, 0), "{body}");
    let (status, _) = smart(&server, &other, json!({ "queryAssetId": green }));
    assert!(
        matches!(status, 400 | 403 | 404),
        "another user's photo is not a starting point: {status}"
    );
    let (status, body) = smart(&server, &admin, json!({ "query": "  " }));
    assert_eq!(status, 400, "{body}");

    // The same model again finds the same, without a second copy.
    let (status, _) = send(
        server
            .put("/api/jobs/smartSearch")
            .bearer_auth(&admin)
            .json(&json!({ "command": "start", "force": true })),
    );
    assert_eq!(status, 200);
    server.wait_idle(&admin);
    assert_eq!(first("green"), green);
    assert_eq!(
        ids(&smart(&server, &admin, json!({ "query": "red", "withDeleted": true })).1).len(),
        4
    );
}

#[test]
fn near_identical_photos_are_grouped_and_resolved_by_keeping_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_runtime(dir.path());
    let admin = server.admin();
    let other = server.user(&admin, "other@example.com");
    let red = server.created(&admin, "red.png", plain([230, 20, 20], 0));
    let again = server.created(&admin, "red-again.png", plain([230, 20, 20], 2));
    let blue = server.created(&admin, "blue.png", plain([20, 30, 230], 0));
    let theirs = server.created(&other, "red.png", plain([230, 20, 20], 1));
    server.wait_idle(&admin);
    server.wait_idle(&other);
    assert_eq!(send(server.get("/api/server/features")).1["duplicateDetection"], true);

    let duplicates = |token: &str| {
        let (status, body) = send(server.get("/api/duplicates").bearer_auth(token));
        assert_eq!(status, 200, "{body}");
        schema::check("get", "/duplicates", 200, &body);
        body.as_array().unwrap().clone()
    };
    let groups = duplicates(&admin);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let mut members = ids(&json!({ "assets": { "items": groups[0]["assets"] } }));
    members.sort();
    let mut reds = vec![red.clone(), again.clone()];
    reds.sort();
    assert_eq!(members, reds, "the two reds, not the blue {blue} nor another user's {theirs}");
    assert!(duplicates(&other).is_empty(), "one photo alone is no group");
    let group = groups[0]["duplicateId"].as_str().unwrap().to_owned();

    // A stale request naming a photo outside the group changes nothing.
    let resolve = |keep: &str, trash: &str| {
        send(server.post("/api/duplicates/resolve").bearer_auth(&admin).json(&json!({
            "groups": [{ "duplicateId": group, "keepAssetIds": [keep], "trashAssetIds": [trash] }]
        })))
    };
    let (status, body) = resolve(&red, &blue);
    assert_eq!((status, body[0]["success"].as_bool()), (200, Some(false)), "{body}");
    schema::check("post", "/duplicates/resolve", 200, &body);
    assert_eq!(duplicates(&admin).len(), 1);

    let (status, body) = resolve(&red, &again);
    assert_eq!((status, body[0]["success"].as_bool()), (200, Some(true)), "{body}");
    assert!(duplicates(&admin).is_empty());
    let (_, trashed) = send(server.get(&format!("/api/assets/{again}")).bearer_auth(&admin));
    assert_eq!(trashed["isTrashed"], true, "{trashed}");
    let (_, kept) = send(server.get(&format!("/api/assets/{red}")).bearer_auth(&admin));
    assert_eq!(kept["isTrashed"], false, "{kept}");

    // Restored and looked at again, they are a group once more; dismissed, they stay apart.
    let (status, _) = send(
        server
            .post("/api/trash/restore/assets")
            .bearer_auth(&admin)
            .json(&json!({ "ids": [again] })),
    );
    assert_eq!(status, 200);
    let (status, _) = send(
        server
            .put("/api/jobs/duplicateDetection")
            .bearer_auth(&admin)
            .json(&json!({ "command": "start", "force": true })),
    );
    assert_eq!(status, 200);
    server.wait_idle(&admin);
    let groups = duplicates(&admin);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let group = groups[0]["duplicateId"].as_str().unwrap();
    let (status, _) = send(server.delete(&format!("/api/duplicates/{group}")).bearer_auth(&other));
    assert_eq!(status, 204);
    assert_eq!(duplicates(&admin).len(), 1, "another user cannot dismiss it");
    let (status, _) = send(server.delete(&format!("/api/duplicates/{group}")).bearer_auth(&admin));
    assert_eq!(status, 204);
    assert!(duplicates(&admin).is_empty());
}

/// A sample portrait scaled by `scale` and set at (`left`, `top`) on a grey canvas, as PNG.
pub fn portrait(name: &str, scale: f32, left: u32, top: u32) -> Vec<u8> {
    let photo = image::open(ml_dir().join("samples").join(name)).unwrap().into_rgb8();
    let (w, h) = ((photo.width() as f32 * scale) as u32, (photo.height() as f32 * scale) as u32);
    let scaled = image::imageops::resize(&photo, w, h, image::imageops::FilterType::Triangle);
    let mut canvas = image::RgbImage::from_pixel(w + left + 40, h + top + 40, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut canvas, &scaled, i64::from(left), i64::from(top));
    let mut out = std::io::Cursor::new(Vec::new());
    canvas.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// test-faces: MTCNN to find faces, and a stand-in for ArcFace (the
/// aligned crop's coarse colour layout) to tell them apart: two people's
/// portraits, three photos each, become two people; the owner names,
/// merges and reassigns them, and search finds a person's photos.
#[test]
fn faces_become_people_that_their_owner_names_merges_and_finds() {
    let dir = tempfile::tempdir().unwrap();
    let ml = ml_dir();
    let config = dir.path().join("faces.toml");
    std::fs::write(
        &config,
        format!(
            "[ml]\nruntime = {:?}\nmodels_dir = {:?}\nclip_model = \"\"\nocr_model = \"\"\nface_model = \"test-faces\"\n",
            ml.join("runtime/libonnxruntime.so"),
            ml.join("models")
        ),
    )
    .unwrap();
    let server = start(&dir.path().join("data"), &config);
    let admin = server.admin();
    let other = server.user(&admin, "other@example.com");
    let shots = [(1.0, 0, 0), (0.8, 60, 30), (1.25, 10, 90)];
    let kafka: Vec<String> = shots
        .iter()
        .enumerate()
        .map(|(i, &(s, l, t))| server.created(&admin, &format!("kafka-{i}.png"), portrait("franz-kafka.jpg", s, l, t)))
        .collect();
    let astronaut: Vec<String> = shots
        .iter()
        .enumerate()
        .map(|(i, &(s, l, t))| server.created(&admin, &format!("astronaut-{i}.png"), portrait("astronaut.png", s, l, t)))
        .collect();
    server.wait_idle(&admin);

    let people = |token: &str| {
        let (status, body) = send(server.get("/api/people?withHidden=true").bearer_auth(token));
        assert_eq!(status, 200, "{body}");
        schema::check("get", "/people", 200, &body);
        body["people"].as_array().unwrap().clone()
    };
    let photos_of = |person: &str| {
        let (status, body) = send(
            server
                .post("/api/search/metadata")
                .bearer_auth(&admin)
                .json(&json!({ "personIds": [person] })),
        );
        assert_eq!(status, 200, "{body}");
        let mut found = ids(&body);
        found.sort();
        found
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let found = people(&admin);
    assert_eq!(found.len(), 2, "{found:?}");
    // The portrait's face: the largest (MTCNN also finds a small false
    // face on the astronaut's suit, which stays nobody's).
    let person_of = |asset: &str| {
        let (_, faces) = send(server.get(&format!("/api/faces?id={asset}")).bearer_auth(&admin));
        let area = |f: &Value| {
            let side = |a: &str, b: &str| f[b].as_i64().unwrap() - f[a].as_i64().unwrap();
            side("boundingBoxX1", "boundingBoxX2") * side("boundingBoxY1", "boundingBoxY2")
        };
        let face = faces
            .as_array()
            .unwrap()
            .iter()
            .max_by_key(|f| area(f))
            .unwrap_or_else(|| panic!("{asset}: {faces}"));
        face["person"]["id"].as_str().unwrap_or_else(|| panic!("{faces}")).to_owned()
    };
    let franz = person_of(&kafka[0]);
    let eileen = person_of(&astronaut[0]);
    assert_ne!(franz, eileen);
    assert_eq!(photos_of(&franz), sorted(kafka.clone()));
    assert_eq!(photos_of(&eileen), sorted(astronaut.clone()));
    assert!(people(&other).is_empty(), "another user sees none of them");

    // The phone hears of the people and their faces, people first (a face points at its person).
    let first = app_stream(&server, &admin);
    let mut synced: Vec<&str> = of_type(&first, "PersonV1")
        .iter()
        .map(|l| l["data"]["id"].as_str().unwrap())
        .collect();
    synced.sort();
    assert_eq!(synced, sorted(vec![franz.clone(), eileen.clone()]));
    assert!(position(&first, "PersonV1") < position(&first, "AssetFaceV2"));
    assert!(
        position(&first, "AssetV2") < position(&first, "AssetFaceV2"),
        "assets before their faces"
    );
    let franz_faces = of_type(&first, "AssetFaceV2")
        .iter()
        .filter(|l| l["data"]["personId"] == franz.as_str())
        .count();
    assert_eq!(franz_faces, kafka.len());
    ack(&server, &admin, &first);
    assert!(
        of_type(&app_stream(&server, &other), "PersonV1").is_empty(),
        "nor through the sync stream"
    );

    // Named, found by name, shown by a face.
    let (status, body) = send(
        server
            .put(&format!("/api/people/{franz}"))
            .bearer_auth(&admin)
            .json(&json!({ "name": "Franz Kafka", "birthDate": "1883-07-03" })),
    );
    assert_eq!(status, 200, "{body}");
    schema::check("put", "/people/{id}", 200, &body);
    let (status, body) = send(server.get("/api/search/person?name=kafka").bearer_auth(&admin));
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(1)), "{body}");
    assert_eq!(body[0]["birthDate"], "1883-07-03");
    let thumbnail = server
        .get(&format!("/api/people/{franz}/thumbnail"))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(thumbnail.status(), 200);
    let face = image::load_from_memory(&thumbnail.bytes().unwrap()).unwrap();
    assert!(
        face.width() > 50 && face.width() == face.height(),
        "{}x{}",
        face.width(),
        face.height()
    );
    let (status, _) = send(
        server
            .put(&format!("/api/people/{franz}"))
            .bearer_auth(&other)
            .json(&json!({ "name": "x" })),
    );
    assert!(matches!(status, 400 | 403 | 404), "another user cannot rename them: {status}");

    // A new photo of a known person joins that person.
    let later = server.created(&admin, "kafka-later.png", portrait("franz-kafka.jpg", 0.9, 120, 20));
    server.wait_idle(&admin);
    assert_eq!(person_of(&later), franz);

    // One astronaut photo moved to Franz, then everything merged into him.
    let (status, body) = send(
        server
            .put(&format!("/api/people/{franz}/reassign"))
            .bearer_auth(&admin)
            .json(&json!({ "data": [{ "assetId": astronaut[0], "personId": eileen }] })),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(person_of(&astronaut[0]), franz);
    assert_eq!(photos_of(&eileen).len(), 2);
    let (status, body) = send(
        server
            .post(&format!("/api/people/{franz}/merge"))
            .bearer_auth(&admin)
            .json(&json!({ "ids": [eileen, "00000000-0000-4000-8000-000000000000"] })),
    );
    assert_eq!(status, 200, "{body}");
    schema::check("post", "/people/{id}/merge", 200, &body);
    assert_eq!(
        (body[0]["success"].as_bool(), body[1]["success"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(people(&admin).len(), 1);
    assert_eq!(photos_of(&franz).len(), 7);
    // The merge reaches the phone: Eileen is gone, her faces are Franz's.
    let merged = app_stream(&server, &admin);
    assert_eq!(
        of_type(&merged, "PersonDeleteV1")
            .iter()
            .map(|l| l["data"]["personId"].clone())
            .collect::<Vec<_>>(),
        vec![json!(eileen)]
    );
    let moved: Vec<&Value> = of_type(&merged, "AssetFaceV2")
        .into_iter()
        .filter(|l| astronaut.contains(&l["data"]["assetId"].as_str().unwrap().to_owned()))
        .collect();
    assert!(
        !moved.is_empty() && moved.iter().all(|l| l["data"]["personId"] == franz.as_str()),
        "{moved:?}"
    );
    ack(&server, &admin, &merged);
    let (status, body) = send(server.get(&format!("/api/people/{franz}/statistics")).bearer_auth(&admin));
    assert_eq!((status, body["assets"].as_i64()), (200, Some(7)), "{body}");

    // Faces found again from scratch replace the old ones (and the people
    // made of them), after recognition last read who is who; it starts over
    // and finds the two again.
    let again = server.created(&admin, "kafka-again.png", portrait("franz-kafka.jpg", 0.7, 30, 30));
    server.wait_idle(&admin);
    assert_eq!(person_of(&again), franz);
    let (status, _) = send(
        server
            .put("/api/jobs/faceDetection")
            .bearer_auth(&admin)
            .json(&json!({ "command": "start", "force": true })),
    );
    assert_eq!(status, 200);
    server.wait_idle(&admin);
    let (_, jobs) = send(server.get("/api/shoebox/jobs").bearer_auth(&admin));
    assert_eq!(jobs["failed"], 0, "{jobs}");
    assert_eq!(people(&admin).len(), 2);
    assert_eq!(person_of(&later), person_of(&kafka[0]));
    assert_ne!(person_of(&astronaut[1]), person_of(&kafka[1]));
}

/// A model repository on loopback, laid out as Hugging Face serves one:
/// each model's file list at `/api/models/immich-app/<model>/tree/main`
/// (Python's static server ignores the `?recursive=true`) and its files
/// under `/immich-app/<model>/resolve/main/`. Stopped when dropped.
struct Hub {
    child: std::process::Child,
    root: PathBuf,
    url: String,
}

impl Hub {
    fn start(root: &Path) -> Hub {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::create_dir_all(root).unwrap();
        let child = std::process::Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(root)
            .arg(port.to_string())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 serves the stand-in model repository");
        let url = format!("http://127.0.0.1:{port}");
        eventually("the model repository listens", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Hub {
            child,
            root: root.to_owned(),
            url,
        }
    }

    /// Publishes the model folder `from` as `name`, with a file list that
    /// gives each file's size and SHA-256, as the repository's does.
    fn publish(&self, name: &str, from: &Path) {
        let files = self.root.join("immich-app").join(name).join("resolve/main");
        let _ = std::fs::remove_dir_all(&files);
        let mut list = Vec::new();
        for entry in walk(from) {
            let path = entry.strip_prefix(from).unwrap().to_str().unwrap().to_owned();
            let bytes = std::fs::read(&entry).unwrap();
            let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            list.push(json!({"type": "file", "path": path, "size": bytes.len(), "lfs": {"oid": sha256, "size": bytes.len()}}));
            std::fs::create_dir_all(files.join(&path).parent().unwrap()).unwrap();
            std::fs::write(files.join(&path), bytes).unwrap();
        }
        list.push(json!({"type": "file", "path": "visual/model.rknn", "size": 3}));
        let tree = self.root.join("api/models/immich-app").join(name).join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("main"), serde_json::to_vec(&list).unwrap()).unwrap();
    }

    fn served(&self, name: &str, path: &str) -> PathBuf {
        self.root.join("immich-app").join(name).join("resolve/main").join(path)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Whether the status page finds the CLIP model installed.
fn clip_installed(s: &Server, admin: &str) -> Value {
    let status = send(s.get("/api/shoebox/status").bearer_auth(admin)).1;
    let models = status["machineLearning"]["models"].as_array().cloned().unwrap_or_default();
    let clip = models.iter().find(|m| m["task"] == "smartSearch");
    clip.map(|m| m["installed"].clone()).unwrap_or_else(|| panic!("{status}"))
}

/// The model folder `got` holds the files of `want`, under the same names and with the same bytes.
fn assert_same_files(got: &Path, want: &Path, what: &str) {
    let names = |root: &Path| -> Vec<PathBuf> { walk(root).iter().map(|p| p.strip_prefix(root).unwrap().to_owned()).collect() };
    assert_eq!(names(got), names(want), "{what}");
    for name in names(want) {
        assert_eq!(
            std::fs::read(got.join(&name)).unwrap(),
            std::fs::read(want.join(&name)).unwrap(),
            "{}",
            name.display()
        );
    }
}

fn fetch_model(server: &Server, admin: &str, name: &str) -> (u16, Value) {
    send(
        server
            .post("/api/shoebox/ml/models/download")
            .bearer_auth(admin)
            .json(&json!({ "name": name })),
    )
}

/// Waits for the download to end; its last state.
fn fetched(server: &Server, admin: &str) -> Value {
    let mut last = Value::Null;
    eventually("the model download ends", || {
        last = send(server.get("/api/shoebox/ml/models/download").bearer_auth(admin)).1;
        last["state"] != "downloading"
    });
    last
}

#[test]
fn a_model_is_downloaded_from_the_model_repository_checked_and_loaded_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(&dir.path().join("hub"));
    let original = ml_dir().join("models/test-clip");
    hub.publish("test-clip", &original);
    let models = dir.path().join("models");
    let config = dir.path().join("ml.toml");
    std::fs::write(
        &config,
        format!(
            "[ml]\nruntime = {:?}\nmodels_dir = {models:?}\nclip_model = \"test-clip\"\nocr_model = \"\"\nface_model = \"\"\nmodel_hub = \"{}/immich-app\"\n",
            ml_dir().join("runtime/libonnxruntime.so"),
            hub.url
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let s = start(&data, &config);
    let admin = s.admin();
    assert_eq!(clip_installed(&s, &admin), false);

    // Names that are not a model's, and a model the repository does not have.
    let (status, body) = fetch_model(&s, &admin, "../etc");
    assert_eq!(status, 400, "{body}");
    let (status, body) = fetch_model(&s, &admin, "no-such-model");
    assert_eq!(status, 202, "{body}");
    let last = fetched(&s, &admin);
    assert_eq!(last["state"], "failed", "{last}");
    assert!(
        last["error"].as_str().unwrap().contains("has no model named \"no-such-model\""),
        "{last}"
    );

    // A file that arrives damaged: nothing is installed, nothing is left behind.
    let served = hub.served("test-clip", "visual/model.onnx");
    let good = std::fs::read(&served).unwrap();
    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(&served, &damaged).unwrap();
    assert_eq!(fetch_model(&s, &admin, "test-clip").0, 202);
    let last = fetched(&s, &admin);
    assert_eq!(last["state"], "failed", "{last}");
    assert!(
        last["error"].as_str().unwrap().contains("visual/model.onnx arrived damaged"),
        "{last}"
    );
    let left: Vec<_> = std::fs::read_dir(&models)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the models folder holds {left:?}");

    // The good one: in place whole, without the NPU's file, and the server restarts to load it.
    std::fs::write(&served, &good).unwrap();
    let (status, body) = fetch_model(&s, &admin, "test-clip");
    assert_eq!(status, 202, "{body}");
    let mut last = Value::Null;
    eventually("the download ends", || {
        match s.get("/api/shoebox/ml/models/download").bearer_auth(&admin).send() {
            Ok(r) => {
                last = r.json().unwrap_or(Value::Null);
                last["state"] != "downloading"
            }
            Err(_) => true, // gone: it stopped to restart
        }
    });
    assert_ne!(last["state"], "failed", "{last}");
    assert_eq!(s.wait().code(), Some(shoebox_server::RESTART_EXIT_CODE));
    assert_same_files(&models.join("test-clip"), &original, "every file, and no *.rknn");

    let s = start(&data, &config);
    assert_eq!(clip_installed(&s, &admin), true, "loaded after the restart");
    let (status, body) = smart(&s, &admin, json!({ "query": "red" }));
    assert_eq!(status, 200, "smart search runs on the downloaded model: {body}");
}

#[test]
fn a_model_folder_on_a_usb_disk_is_found_imported_without_its_links_and_loaded() {
    if !shoebox_storaged::testing::can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A USB disk with an Immich model cache copied onto it, and a link that points off the disk.
    let usb = shoebox_storaged::testing::LoopDisk::new(dir.path(), "usb.img");
    let sh = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program).args(args).output().unwrap();
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    sh("mkfs.ext4", &["-q", "-L", "MODELS", &usb.path]);
    let writing = dir.path().join("writing");
    std::fs::create_dir(&writing).unwrap();
    sh("mount", &[&usb.path, writing.to_str().unwrap()]);
    let original = ml_dir().join("models/test-clip");
    let on_disk = writing.join("immich-cache/clip/test-clip");
    for file in walk(&original) {
        let to = on_disk.join(file.strip_prefix(&original).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    std::os::unix::fs::symlink("/etc/shadow", on_disk.join("visual/shadow")).unwrap();
    sh("umount", &[writing.to_str().unwrap()]);

    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    let bus = shoebox_storaged::private_bus::PrivateBus::start(&dir.path().join("bus"), &policy)
        .expect("dbus-daemon is missing: run ci/install-test-deps.sh");
    let storaged = Path::new(env!("CARGO_BIN_EXE_shoeboxd")).with_file_name("shoebox-storaged");
    let (mounts, pool, state) = (dir.path().join("backup-disks"), dir.path().join("pool"), dir.path().join("state"));
    let args = [
        "--pool-mount",
        pool.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--include-loop-devices",
        "--backup-disks-dir",
        mounts.to_str().unwrap(),
    ];
    let _service = bus.run_service(&storaged, &args).unwrap();
    let models = dir.path().join("models");
    let config = dir.path().join("ml.toml");
    std::fs::write(
        &config,
        format!(
            "storage_bus = {:?}\n[ml]\nruntime = {:?}\nmodels_dir = {models:?}\nclip_model = \"test-clip\"\nocr_model = \"\"\nface_model = \"\"\n",
            bus.address,
            ml_dir().join("runtime/libonnxruntime.so")
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let s = start(&data, &config);
    let admin = s.admin();

    let (status, found) = send(s.get("/api/shoebox/ml/models/found").bearer_auth(&admin));
    let _unmount = shoebox_storaged::testing::Unmount(std::fs::read_dir(&mounts).unwrap().flatten().next().unwrap().path());
    assert_eq!(status, 200, "{found}");
    let path = found[0]["path"].as_str().unwrap_or_default().to_owned();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        (&found[0]["name"], &found[0]["disk"]),
        (&json!("test-clip"), &json!("MODELS")),
        "{found}"
    );
    assert!(path.ends_with("/immich-cache/clip/test-clip"), "{found}");

    let (status, body) = send(
        s.post("/api/shoebox/ml/models/import")
            .bearer_auth(&admin)
            .json(&json!({ "path": "/etc" })),
    );
    assert_eq!(status, 400, "only a folder found on a disk: {body}");
    let (status, body) = send(
        s.post("/api/shoebox/ml/models/import")
            .bearer_auth(&admin)
            .json(&json!({ "path": path })),
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(s.wait().code(), Some(shoebox_server::RESTART_EXIT_CODE), "restarts to load it");
    assert_same_files(&models.join("test-clip"), &original, "every file of the model, and not the link");

    let s = start(&data, &config);
    assert_eq!(clip_installed(&s, &admin), true, "loaded after the restart");
}
