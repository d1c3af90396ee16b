//! Helpers shared by the unit tests.

use std::path::Path;

/// Whether a missing judge must fail the test (`CI=true`) instead of being skipped.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reads a JSON file from `shared/`. When it is missing: panics under `CI=true`, otherwise
/// prints a loud `SKIPPED:` line and returns `None`.
pub(crate) fn shared_json(path: &str) -> Option<serde_json::Value> {
    let p = Path::new(path);
    match std::fs::read(p) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", p.display())),
        ),
        Err(e) => {
            assert!(
                !in_ci(),
                "shared data {} is missing ({e}); CI=true requires it",
                p.display()
            );
            // The skip must be loud (house rule), so this test helper prints.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("SKIPPED: shared data {} is missing ({e})", p.display());
            }
            None
        }
    }
}

/// A validator for a Kubernetes JSON schema from `shared/schemas` (see [`shared_json`] for
/// the missing-file rule). The kubeconform-style schemas declare
/// `"$schema": "http://json-schema.org/schema#"`, which names no draft; that marker is dropped
/// and the schema read as draft 4, the draft those files are generated for. Other schemas use
/// the crate's default draft. Format checks are off.
pub(crate) fn kubernetes_validator(path: &str) -> Option<jsonschema::Validator> {
    let mut schema = shared_json(path)?;
    let mut options = jsonschema::options().should_validate_formats(false);
    if let Some(map) = schema.as_object_mut()
        && map.get("$schema").and_then(serde_json::Value::as_str)
            == Some("http://json-schema.org/schema#")
    {
        map.remove("$schema");
        options = options.with_draft(jsonschema::Draft::Draft4);
    }
    Some(
        options
            .build(&schema)
            .unwrap_or_else(|e| panic!("{path} does not compile as a JSON schema: {e}")),
    )
}
