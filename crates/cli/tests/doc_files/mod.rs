//! The documents whose commands the docs tests check (`docs_commands.rs`) and run
//! (`docs_run.rs`): README.md and every Markdown file under docs/.

use std::path::Path;

/// README.md and every Markdown file under `checkout`/docs, by path relative to `checkout`,
/// with their text.
pub fn documents(checkout: &Path) -> Vec<(String, String)> {
    let mut out = vec![(
        "README.md".to_owned(),
        std::fs::read_to_string(checkout.join("README.md")).unwrap(),
    )];
    for entry in walkdir::WalkDir::new(checkout.join("docs")).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "md") {
            let rel = entry
                .path()
                .strip_prefix(checkout)
                .unwrap()
                .display()
                .to_string();
            out.push((rel, std::fs::read_to_string(entry.path()).unwrap()));
        }
    }
    out
}
