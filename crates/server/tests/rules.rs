//! The console's copy of the input rules (`console/src/api/rules.generated.json`) is the
//! server's, and the OpenAPI document's patterns state the same limits.

use obsync_server::rules::{input_rules, input_rules_json};
use serde_json::Value;

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../console/src/api/rules.generated.json"
);

#[test]
fn the_console_rules_file_is_the_servers() {
    let current = input_rules_json();
    if std::env::var_os("OBSYNC_UPDATE_RULES").is_some() {
        std::fs::write(RULES, &current).unwrap();
    }
    let committed = std::fs::read_to_string(RULES).unwrap_or_default();
    assert!(
        committed == current,
        "console/src/api/rules.generated.json differs from the server's rules: run \
         OBSYNC_UPDATE_RULES=1 cargo test -p obsync-server --test rules"
    );
}

#[test]
fn the_openapi_patterns_state_the_published_limits() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rules = input_rules();
    for (schema, field, max) in [
        ("DataSourceInput", "name", rules.data_source_name.max_chars),
        ("TagInput", "name", rules.tag_name.max_chars),
        ("NewUserInput", "username", rules.username.max_chars),
    ] {
        let pattern = doc["components"]["schemas"][schema]["properties"][field]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} has no pattern"));
        assert!(
            pattern.ends_with(&format!("{{1,{max}}}$")),
            "{schema}.{field}: pattern {pattern:?} does not allow 1-{max} characters"
        );
    }
}
