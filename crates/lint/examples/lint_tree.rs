//! Lints a folder with the library, as `psd lint` will (stand-in for the benchmark until the
//! CLI has the command).
//!
//! `cargo run --release -p psd-lint --example lint_tree -- DIR [--schema-location LOC]...
//! [--chart-schemas DIR] [--kubernetes-version V] [--strict]` prints each finding and a
//! summary line with the time spent reading, indexing and linting.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use psd_lint::{Config, Tree};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut config = Config::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--schema-location" => config.schema.locations.push(args.next().expect("LOC")),
            "--chart-schemas" => config.schema.chart_schemas = args.next().map(Into::into),
            "--kubernetes-version" => config.schema.kubernetes_version = args.next(),
            "--strict" => config.schema.strict = true,
            "-q" | "--quiet" => {}
            _ => dir = Some(a),
        }
    }
    let quiet = std::env::args().any(|a| a == "-q" || a == "--quiet");
    if let Err(e) = config.schema.check() {
        eprintln!("{e}");
        std::process::exit(2);
    }
    let dir = dir.expect("usage: lint_tree DIR [options]");
    let start = Instant::now();
    let tree = Tree::from_dir(std::path::Path::new(&dir)).expect("read the tree");
    let read = start.elapsed();
    let index = psd_lint::index(&tree);
    let indexed = start.elapsed();
    let findings = psd_lint::lint_indexed(&tree, &index, &config);
    let total = start.elapsed();
    if !quiet {
        for f in &findings {
            let (l, c) = f.span.map_or((0, 0), |s| (s.line, s.column));
            println!(
                "{}:{l}:{c}: {} [{}] {}",
                f.file, f.severity, f.rule, f.message
            );
        }
    }
    println!(
        "files {} docs {} findings {} read_s {:.3} index_s {:.3} rules_s {:.3} total_s {:.3}",
        tree.files.len(),
        index.docs.len(),
        findings.len(),
        read.as_secs_f64(),
        (indexed - read).as_secs_f64(),
        (total - indexed).as_secs_f64(),
        total.as_secs_f64()
    );
}
