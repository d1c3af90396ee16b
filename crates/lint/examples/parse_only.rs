//! The baseline of `bench/lint.py`: reads every `.yaml`/`.yml` file under a folder and parses
//! it with serde-saphyr into `serde_json::Value`s, on one thread, nothing else.
//!
//! `cargo run --release -p psd-lint --example parse_only -- DIR` prints the file and
//! document counts and the time spent reading and parsing.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Instant;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if e.file_name() != ".git" {
                walk(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: parse_only DIR");
    let start = Instant::now();
    let mut paths = Vec::new();
    walk(Path::new(&dir), &mut paths);
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    let read = start.elapsed();
    let mut docs = 0usize;
    let mut errors = 0usize;
    for t in &texts {
        match serde_saphyr::from_multiple::<serde_json::Value>(t) {
            Ok(v) => docs += v.len(),
            Err(_) => errors += 1,
        }
    }
    let total = start.elapsed();
    println!(
        "files {} docs {docs} errors {errors} read_s {:.3} parse_s {:.3} total_s {:.3}",
        texts.len(),
        read.as_secs_f64(),
        (total - read).as_secs_f64(),
        total.as_secs_f64()
    );
}
