//! Checks response bodies against the Immich 3.0 OpenAPI document, the
//! schemas the mobile app's generated models are built from: a required
//! field missing, a null where the schema forbids it, or a malformed date
//! or UUID fails the test.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// Placed by ci/fetch-fixtures.sh (from ../shared, or from PyPI).
fn spec_path() -> PathBuf {
    std::env::var_os("IMMICH_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/immich-openapi-3.0.0.json"))
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: the schema or null.
fn convert(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| *k != "nullable")
                .map(|(k, v)| (k.clone(), convert(v)))
                .collect();
            // Descriptive keywords only; "example" values in the spec are not always valid.
            out.remove("example");
            if map.get("nullable") == Some(&Value::Bool(true)) {
                json!({ "anyOf": [Value::Object(out), { "type": "null" }] })
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        other => other.clone(),
    }
}

struct Spec {
    doc: Value,
    validators: Mutex<HashMap<String, &'static jsonschema::Validator>>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the Immich OpenAPI document {} is missing ({e}): run ci/fetch-fixtures.sh",
                path.display()
            )
        });
        let raw: Value = serde_json::from_str(&text).unwrap();
        Spec {
            doc: json!({ "paths": raw["paths"], "components": convert(&raw["components"]) }),
            validators: Mutex::default(),
        }
    })
}

/// Asserts that `body`, answered with `status` to `method` on the spec's
/// path template (e.g. "/assets/{id}", without "/api"), matches the spec.
pub fn check(method: &str, template: &str, status: u16, body: &Value) {
    let key = format!("{method} {template} {status}");
    let validator = validator(&key, |doc| {
        let response = &doc["paths"][template][method]["responses"][status.to_string()];
        assert!(!response.is_null(), "the spec has no {status} response for {method} {template}");
        convert(&response["content"]["application/json"]["schema"])
    });
    assert_valid(&key, validator, body);
}

/// Asserts that `body` matches the spec's component schema `name`
/// (e.g. "SyncAssetV2"), for payloads not described as a response.
pub fn check_schema(name: &str, body: &Value) {
    let validator = validator(name, |doc| {
        assert!(!doc["components"]["schemas"][name].is_null(), "the spec has no schema {name}");
        json!({ "$ref": format!("#/components/schemas/{name}") })
    });
    assert_valid(name, validator, body);
}

fn validator(key: &str, schema: impl FnOnce(&Value) -> Value) -> &'static jsonschema::Validator {
    let spec = spec();
    spec.validators.lock().unwrap().entry(key.to_owned()).or_insert_with(|| {
        let mut root = schema(&spec.doc).as_object().cloned().unwrap_or_default();
        root.insert("components".into(), spec.doc["components"].clone());
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("schema for {key}: {e}"));
        Box::leak(Box::new(validator))
    })
}

fn assert_valid(key: &str, validator: &jsonschema::Validator, body: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{key} does not match the Immich schema:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}
