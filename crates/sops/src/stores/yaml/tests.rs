//! Tests of the YAML store: the shared vectors, the real sops as judge of the emitter, comment
//! placement, errors, and a round-trip property.

use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;

use super::*;
use crate::tree::{Comment, Timestamp};

fn store() -> YamlStore {
    YamlStore::new(StoreOptions::default())
}

fn store_indent(n: usize) -> YamlStore {
    YamlStore::new(StoreOptions {
        yaml_indent: n,
        ..StoreOptions::default()
    })
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The shared vectors, or `None` (loud skip; a failure under `CI=true`).
fn vectors() -> Option<PathBuf> {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/sops-vectors"
    ));
    if p.is_dir() {
        return Some(p.to_path_buf());
    }
    assert!(!ci(), "shared/sops-vectors is missing (CI=true)");
    #[allow(clippy::print_stderr)]
    {
        eprintln!("SKIPPED: {} not found", p.display());
    }
    None
}

/// The real sops binary (`PSD_SOPS`, then PATH, then the repo's .venv from .ci/run), or `None` (loud skip;
/// a failure under `CI=true`).
fn sops() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("PSD_SOPS") {
        candidates.push(PathBuf::from(p));
    }
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("sops")));
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.venv/bin/sops"
    )));
    if let Some(p) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(p);
    }
    assert!(!ci(), "the sops binary was not found (CI=true)");
    #[allow(clippy::print_stderr)]
    {
        eprintln!("SKIPPED: sops binary not found (set PSD_SOPS)");
    }
    None
}

/// Real sops with the 3.11 vector key, run with `--config` naming that key's recipient, and a
/// scratch directory for its files. `None` (after the loud skip) without sops or vectors.
struct SopsJudge {
    sops: PathBuf,
    key: PathBuf,
    config: PathBuf,
    tmp: PathBuf,
}

impl SopsJudge {
    const PUBLIC: &str = "age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406";

    fn new(name: &str) -> Option<Self> {
        let key = vectors()?.join("generated-sops-3.11.0/key_a.txt");
        let sops = sops()?;
        let tmp = std::env::temp_dir().join(format!("psd-yaml-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let config = tmp.join("sops.yaml");
        std::fs::write(
            &config,
            format!("creation_rules:\n  - age: {}\n", Self::PUBLIC),
        )
        .unwrap();
        Some(Self {
            sops,
            key,
            config,
            tmp,
        })
    }

    fn run(&self, args: &[&std::ffi::OsStr]) -> std::process::Output {
        Command::new(&self.sops)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("SOPS_AGE_KEY_FILE", &self.key)
            .env_remove("SOPS_AGE_KEY")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap()
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn is_encrypted_text(b: &[u8]) -> bool {
    let s = String::from_utf8_lossy(b);
    s.starts_with("sops:") || s.contains("\nsops:") || s.contains("\n\"sops\":")
}

/// Every YAML file of the vectors loads: encrypted ones with their metadata, others plain.
#[test]
fn every_vector_parses() {
    let Some(dir) = vectors() else { return };
    let files = yaml_files(&dir);
    assert!(files.len() >= 40, "only {} yaml vectors", files.len());
    let mut enc = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        if is_encrypted_text(&bytes) {
            let (tree, meta) = store()
                .load_encrypted(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert!(!tree.branches.is_empty(), "{}", f.display());
            let Value::Map(m) = meta else { panic!() };
            assert!(
                m.iter().any(|i| i.key.name() == Some("mac")),
                "{}",
                f.display()
            );
            enc += 1;
        } else {
            store()
                .load_plain(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
    assert!(enc >= 25, "only {enc} encrypted yaml vectors");
}

/// The indentation sops used for a file it wrote (from the line after `sops:`).
fn detect_indent(text: &str) -> usize {
    let after = text.split("\nsops:\n").nth(1).unwrap_or("");
    after.chars().take_while(|&c| c == ' ').count().max(1)
}

/// Re-emitting an encrypted file that sops 3.11 wrote gives back the same bytes: our emitter
/// lays out ENC values, comments, lists, the metadata and the age armor blocks as go-yaml does.
#[test]
fn reemit_of_sops_encrypted_files_is_byte_identical() {
    let Some(dir) = vectors() else { return };
    let gen_dir = dir.join("generated-sops-3.11.0");
    let mut checked = 0;
    for f in yaml_files(&gen_dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        if !is_encrypted_text(text.as_bytes()) {
            continue;
        }
        let st = store_indent(detect_indent(&text));
        let (tree, meta) = st.load_encrypted(text.as_bytes()).unwrap();
        let out = String::from_utf8(st.emit_encrypted(&tree, &meta).unwrap()).unwrap();
        assert_eq!(out, text, "{}", f.display());
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} files");
}

/// Same for the public files written by sops 3.7 … 3.13 (go-yaml v3 in every version).
#[test]
fn reemit_of_public_sops_files_is_byte_identical() {
    let Some(dir) = vectors() else { return };
    let mut checked = 0;
    for folder in [
        "fluxcd-kustomize-controller",
        "sops-nix",
        "helm-secrets",
        "humphd-sops-age",
        "sops-age-key-workshop",
        "terragrunt-tests",
    ] {
        for f in yaml_files(&dir.join(folder)) {
            let text = std::fs::read_to_string(&f).unwrap();
            if !is_encrypted_text(text.as_bytes()) {
                continue;
            }
            let st = store_indent(detect_indent(&text));
            let (tree, meta) = st.load_encrypted(text.as_bytes()).unwrap();
            let out = String::from_utf8(st.emit_encrypted(&tree, &meta).unwrap()).unwrap();
            assert_eq!(out, text, "{}", f.display());
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} files");
}

/// The real sops decrypts each YAML vector; loading its plain output and emitting it again
/// gives sops's bytes back (the emitter judged by sops's own plain emission).
#[test]
fn reemit_of_sops_decrypt_output_is_byte_identical() {
    let Some(dir) = vectors() else { return };
    let Some(sops) = sops() else { return };
    let tmp = std::env::temp_dir().join(format!("psd-yaml-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut checked = 0;
    let mut seen = std::collections::HashSet::new();
    for manifest in std::fs::read_dir(&dir).unwrap() {
        let folder = manifest.unwrap().path();
        let Ok(m) = std::fs::read_to_string(folder.join("manifest.json")) else {
            continue;
        };
        let m: serde_json::Value = serde_json::from_str(&m).unwrap();
        for v in m["vectors"].as_array().unwrap() {
            if v["format"] != "yaml" || v.get("expect").is_some() {
                continue;
            }
            let file = folder.join(v["file"].as_str().unwrap());
            if !seen.insert(file.clone()) {
                continue;
            }
            let mut age_keys = String::new();
            let mut ssh_key = None;
            for k in v["keys"].as_array().unwrap() {
                let k = folder.join(k.as_str().unwrap());
                let body = std::fs::read_to_string(&k).unwrap();
                if body.contains("OPENSSH PRIVATE KEY") {
                    ssh_key = Some(k);
                } else {
                    age_keys.push_str(&body);
                    age_keys.push('\n');
                }
            }
            let keyfile = tmp.join("keys.txt");
            std::fs::write(&keyfile, age_keys).unwrap();
            let mut cmd = Command::new(&sops);
            cmd.env("SOPS_DISABLE_VERSION_CHECK", "1")
                .env("SOPS_AGE_KEY_FILE", &keyfile)
                .env_remove("SOPS_AGE_KEY")
                .args(["decrypt", "--input-type", "yaml", "--output-type", "yaml"])
                .arg(&file);
            if let Some(s) = &ssh_key {
                cmd.env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", s);
            }
            let out = cmd.output().unwrap();
            if !out.status.success() {
                // Files without `version` (rops-references) are refused by the sops CLI.
                continue;
            }
            let text = String::from_utf8(out.stdout).unwrap();
            let st = store_indent(4);
            let tree = st
                .load_plain(text.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let again = String::from_utf8(st.emit_plain(&tree).unwrap()).unwrap();
            assert_eq!(again, text, "{}", file.display());
            checked += 1;
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    assert!(checked >= 15, "only {checked} files checked");
}

/// The shape of a tree: keys and comment markers, values elided. A list string that is an
/// encrypted comment (`ENC[...,type:comment]`) counts as a comment, as sops stores it so.
fn shape(v: &Value, out: &mut String, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Map(items) => {
            for i in items {
                match &i.key {
                    Key::Comment(_) => out.push_str(&format!("{pad}#\n")),
                    Key::Name(n) => {
                        out.push_str(&format!("{pad}{n}\n"));
                        shape(&i.value, out, depth + 1);
                    }
                }
            }
        }
        Value::List(l) => {
            for e in l {
                match e {
                    Value::Comment(_) => out.push_str(&format!("{pad}-#\n")),
                    Value::Str(s) if s.starts_with("ENC[") && s.ends_with("type:comment]") => {
                        out.push_str(&format!("{pad}-#\n"));
                    }
                    other => {
                        out.push_str(&format!("{pad}-\n"));
                        shape(other, out, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

fn tree_shape(t: &Tree) -> String {
    let mut s = String::new();
    for b in &t.branches {
        s.push_str("---\n");
        shape(&Value::Map(b.clone()), &mut s, 0);
    }
    s
}

/// Comments of each plain vector land where sops put them: the encrypted files show every
/// comment (`#ENC[...]` or clear) at its place, so the shapes must be equal.
#[test]
fn comment_placement_matches_sops() {
    let Some(dir) = vectors() else { return };
    let g = dir.join("generated-sops-3.11.0");
    let pairs = [
        ("types.plain.yaml", "types.enc.yaml"),
        ("types.plain.yaml", "shamir-2of3.enc.yaml"),
        (
            "comment-placement.plain.yaml",
            "comment-placement-encrypted-regex.enc.yaml",
        ),
        (
            "comment-placement.plain.yaml",
            "comment-placement-unencrypted-regex.enc.yaml",
        ),
        (
            "comment-regex.plain.yaml",
            "encrypted-comment-regex.enc.yaml",
        ),
        (
            "comment-regex.plain.yaml",
            "unencrypted-comment-regex.enc.yaml",
        ),
        ("edge.plain.yaml", "edge.enc.yaml"),
        ("multidoc.plain.yaml", "multidoc.enc.yaml"),
        ("multidoc.plain.yaml", "multidoc-unencrypted-regex.enc.yaml"),
        ("k8s.plain.yaml", "k8s-encrypted-regex.enc.yaml"),
        ("k8s.plain.yaml", "k8s-mac-only-encrypted.enc.yaml"),
    ];
    for (plain, enc) in pairs {
        let p = store()
            .load_plain(&std::fs::read(g.join(plain)).unwrap())
            .unwrap();
        let (e, _) = store()
            .load_encrypted(&std::fs::read(g.join(enc)).unwrap())
            .unwrap();
        assert_eq!(tree_shape(&p), tree_shape(&e), "{plain} vs {enc}");
    }
}

/// The exact comment items of comment-placement.plain.yaml, including which are inline.
#[test]
fn comment_placement_items() {
    let src = "x:\n    a: 1\n    # sops:enc\ny: 2\nz:\n    b: 3\n# sops:enc\nw: 4\nv:\n    - 1\n    # sops:enc\nu: 5\nt: 6 # sops:enc\ns: 7\n# sops:enc\n\nr: 8\nq: 9\n";
    let t = store().load_plain(src.as_bytes()).unwrap();
    let b = &t.branches[0];
    let keys: Vec<String> = b
        .iter()
        .map(|i| match &i.key {
            Key::Name(n) => n.clone(),
            Key::Comment(c) => format!("#{}{}", c.text, if c.inline { "(inline)" } else { "" }),
        })
        .collect();
    assert_eq!(
        keys,
        [
            "x",
            "y",
            "z",
            "# sops:enc",
            "w",
            "v",
            "u",
            "# sops:enc(inline)",
            "t",
            "s",
            "# sops:enc",
            "r",
            "q"
        ]
    );
    let Value::Map(x) = &b[0].value else { panic!() };
    assert_eq!(x.len(), 2);
    assert_eq!(x[1].key, Key::Comment(Comment::new(" sops:enc")));
    let v = &b.iter().find(|i| i.key.name() == Some("v")).unwrap().value;
    assert_eq!(
        v,
        &Value::List(vec![
            Value::Int(1),
            Value::Comment(Comment::new(" sops:enc"))
        ])
    );
}

/// Foot comments when several blocks close at once, as observed with sops 3.11.
#[test]
fn foot_comments_when_blocks_close() {
    let cases = [
        // (input, expected shape)
        (
            "a:\n    b:\n        c: 1\n      # c6\n    # c4\n  # c2\n# c0\nu: 1\n",
            "a\n  b\n    c\n    #\n  #\n#\n#\nu\n",
        ),
        (
            "a:\n    b:\n        c: 1\n  # c2\nu: 1\n",
            "a\n  b\n    c\n    #\nu\n",
        ),
        (
            "a:\n    b: 1\n  # c2\n    # c4\nu: 1\n",
            "a\n  b\n  #\n  #\nu\n",
        ),
        (
            "a:\n    b:\n        c: 1\n    # c4\n# c0\n    # c4\nu: 1\n",
            "a\n  b\n    c\n    #\n#\n#\nu\n",
        ),
        ("l:\n- a\n# c\nu: 1\n", "l\n  -\n#\nu\n"),
        ("l:\n  - a\n # c\nu: 1\n", "l\n  -\n  -#\nu\n"),
        (
            "l:\n- a # c1\n# c2\n- b\n- # c3\n  k: v\nu: 1\n",
            "l\n  -#\n  -\n  -#\n  -\n  -\n    #\n    k\nu\n",
        ),
        (
            "x: # on key\n    a: 1\ny: [1, 2] # flow\nz: {a: 1} # fl\n",
            "#\nx\n  a\ny\n  -#\n  -\n  -\nz\n  #\n  a\n",
        ),
        ("# head\n\na: 1\n# trailing\n", "#\na\n#\n"),
        ("a:\n    b: 1\n# t\n", "a\n  b\n#\n"),
        ("a:\n    b: 1\n    # t\n", "a\n  b\n  #\n"),
    ];
    for (src, want) in cases {
        let t = store().load_plain(src.as_bytes()).unwrap();
        let mut s = String::new();
        shape(&Value::Map(t.branches[0].clone()), &mut s, 0);
        assert_eq!(s, want, "{src}");
    }
}

/// Comments around the mappings of a sequence, as go-yaml v3 + sops 3.11 attach them. Observed
/// with sops 3.11.0: which values a `# sops:enc` marker selects under
/// `encrypted_comment_regex` (a comment of the sequence selects the whole next element, one
/// inside the element's mapping only the next key), and where sops writes each comment when
/// encrypting without a rule (a comment of a sequence becomes a `- ENC[...]` element, one of a
/// mapping an `#ENC[...]` line at that mapping's indentation).
#[test]
fn comments_in_sequences_of_mappings() {
    let cases = [
        // (input, expected shape)
        // Before the dash: a comment of the sequence, first element or later, blank line or not.
        (
            "l:\n    # c\n    - a: 1\n      b: 2\n    - c: 3\n",
            "l\n  -#\n  -\n    a\n    b\n  -\n    c\n",
        ),
        (
            "l:\n    - x: 0\n    # c\n    - a: 1\n      b: 2\n",
            "l\n  -\n    x\n  -#\n  -\n    a\n    b\n",
        ),
        (
            "l:\n    # c\n\n    - a: 1\n      b: 2\n",
            "l\n  -#\n  -\n    a\n    b\n",
        ),
        (
            "l:\n- a: 1\n# c\n- d: 3\n  e: 4\n",
            "l\n  -\n    a\n  -#\n  -\n    d\n    e\n",
        ),
        // After the dash (on its line or the following ones): the first key's head comment,
        // inside the mapping.
        (
            "l:\n    - # c\n      a: 1\n      b: 2\n    - c: 3\n",
            "l\n  -\n    #\n    a\n    b\n  -\n    c\n",
        ),
        (
            "l:\n    - x: 0\n    - # c\n      a: 1\n",
            "l\n  -\n    x\n  -\n    #\n    a\n",
        ),
        (
            "a:\n    -\n        # c\n        a: null\n        a_l: -601121046543\n# d\na_: []\n",
            "a\n  -\n    #\n    a\n    a_l\n#\na_\n",
        ),
        (
            "l:\n    - x: 0\n      # f\n    -\n      # c\n      # d\n      a: 1\n      b: 2\n",
            "l\n  -\n    x\n    #\n  -\n    #\n    #\n    a\n    b\n",
        ),
        (
            "l:\n    - # x\n      # c\n      a: 1\n",
            "l\n  -\n    #\n    #\n    a\n",
        ),
        (
            "l:\n    -\n\n      # c\n      a: 1\n      b: 2\n",
            "l\n  -\n    #\n    a\n    b\n",
        ),
        (
            "l:\n    - a: 1 # c\n      b: 2\n",
            "l\n  -\n    #\n    a\n    b\n",
        ),
        (
            "l:\n    - - 0\n    -\n      # c\n      - 1\n      - 2\n",
            "l\n  -\n    -\n  -\n    -#\n    -\n    -\n",
        ),
        // Between keys, whatever the comment's indentation or blank lines: the next key's.
        (
            "l:\n    - a: 1\n      # c\n      b: 2\n    - d: 4\n",
            "l\n  -\n    a\n    #\n    b\n  -\n    d\n",
        ),
        (
            "l:\n    -\n        a: 1\n        # c\n        b: 2\n",
            "l\n  -\n    a\n    #\n    b\n",
        ),
        (
            "l:\n    - a: 1\n\n      # c\n      b: 2\n",
            "l\n  -\n    a\n    #\n    b\n",
        ),
        (
            "l:\n    - a: 1\n          # c\n      b: 2\n",
            "l\n  -\n    a\n    #\n    b\n",
        ),
        (
            "l:\n    - a: 1\n     # c\n      b: 2\n",
            "l\n  -\n    a\n    #\n    b\n",
        ),
        (
            "l:\n- a: 1\n  # c\n  b: 2\n- d: 3\n",
            "l\n  -\n    a\n    #\n    b\n  -\n    d\n",
        ),
        (
            "l:\n    - a:\n          x: 1\n      # c\n      b: 2\n",
            "l\n  -\n    a\n      x\n    #\n    b\n",
        ),
        // After the last key, at the mapping's indentation (or between it and the dash's): a
        // foot comment of the mapping, also before the next dash or a blank line.
        (
            "l:\n    - a: 1\n      # c\n    - d: 1\n",
            "l\n  -\n    a\n    #\n  -\n    d\n",
        ),
        (
            "l:\n    -\n        a: 1\n        # c\n    -\n        d: 1\n",
            "l\n  -\n    a\n    #\n  -\n    d\n",
        ),
        (
            "l:\n    - a: 1\n      # c\n\n    - d: 1\n",
            "l\n  -\n    a\n    #\n  -\n    d\n",
        ),
        (
            "l:\n    - a: 1\n     # c\n    - d: 1\n",
            "l\n  -\n    a\n    #\n  -\n    d\n",
        ),
        (
            "l:\n    - a: 1\n      # c1\n    # c2\n    - d: 1\n",
            "l\n  -\n    a\n    #\n  -#\n  -\n    d\n",
        ),
        (
            "l:\n    - a: 1\n      # c\nm: 5\n",
            "l\n  -\n    a\n    #\nm\n",
        ),
        (
            "l:\n    - a:\n          x: 1\n          # c\n    - b: 2\n",
            "l\n  -\n    a\n      x\n      #\n  -\n    b\n",
        ),
        (
            "l:\n    - a:\n          x: 1\n      # c\n    - b: 2\n",
            "l\n  -\n    a\n      x\n      #\n  -\n    b\n",
        ),
        // At the sequence's indentation between elements: before the next element.
        (
            "l:\n    - a: 1\n\n    # c\n    - d: 1\n",
            "l\n  -\n    a\n  -#\n  -\n    d\n",
        ),
        // At the end of the document, at any indentation.
        ("l:\n    - a: 1\n      # c\n", "l\n  -\n    a\n    #\n"),
        ("l:\n    - a: 1\n    # c\n", "l\n  -\n    a\n#\n"),
        ("l:\n    - a: 1\n# c\n", "l\n  -\n    a\n#\n"),
        ("l:\n    - a: 1\n  # c\n", "l\n  -\n    a\n#\n"),
        ("l:\n- a: 1\n# c\n", "l\n  -\n    a\n#\n"),
        (
            "l:\n    - a: 1\n    # c\n    # d\n",
            "l\n  -\n    a\n#\n#\n",
        ),
        ("l:\n    - - 1\n    # c\n", "l\n  -\n    -\n#\n"),
        (
            "l:\n    - a:\n        - 1\n    # c\n",
            "l\n  -\n    a\n      -\n#\n",
        ),
        (
            "x:\n    l:\n        - a: 1\n        # c\n",
            "x\n  l\n    -\n      a\n  #\n",
        ),
        (
            "x:\n    l:\n        - a: 1\n    # c\n",
            "x\n  l\n    -\n      a\n  #\n",
        ),
        ("l:\n    - 1\n    # c\n", "l\n  -\n  -#\n"),
        // At the sequence's indentation after the last element, followed by a less indented
        // key or `---`: a foot comment of the element's mapping (of the sequence for a scalar).
        (
            "l:\n    - a: 1\n    # c\nm: 1\n",
            "l\n  -\n    a\n    #\nm\n",
        ),
        (
            "x:\n    l:\n        - a: 1\n        # c\ny: 1\n",
            "x\n  l\n    -\n      a\n      #\ny\n",
        ),
        (
            "x:\n    l:\n        - a: 1\n        # c\n    y: 1\n",
            "x\n  l\n    -\n      a\n      #\n  y\n",
        ),
        (
            "l:\n    - a: 1\n    # c\n---\nm: 1\n",
            "l\n  -\n    a\n    #\n",
        ),
        ("l:\n    - 1\n    # c\nm: 1\n", "l\n  -\n  -#\nm\n"),
        (
            "l:\n    -\n        a: 1\n        # c\n",
            "l\n  -\n    a\n    #\n",
        ),
        // Dedented to the root: before the next root key.
        (
            "l:\n    -\n        a: 1\n# c\nm: 5\n",
            "l\n  -\n    a\n#\nm\n",
        ),
        (
            "l:\n- a: 1\n  b: 2\n# c\nm: 1\n",
            "l\n  -\n    a\n    b\n#\nm\n",
        ),
        // Nested sequences of mappings.
        (
            "l:\n    -\n        a: 1\n        l2:\n            -\n                # c\n                x: 1\n            -\n                z: 3\n        # d\n        b: 2\n",
            "l\n  -\n    a\n    l2\n      -\n        #\n        x\n      -\n        z\n    #\n    b\n",
        ),
    ];
    let mut wrong = Vec::new();
    for (src, want) in cases {
        let t = store().load_plain(src.as_bytes()).unwrap();
        let mut s = String::new();
        shape(&Value::Map(t.branches[0].clone()), &mut s, 0);
        if s != want {
            wrong.push(format!("{src}got:\n{s}want:\n{want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A mapping or sequence inside a sequence that starts with comments is written as a bare `-`
/// with the comments on the following lines: go-yaml reads them back inside the nested
/// collection (sops 3.11 then selects only the first key with a `# sops:enc` marker, as for
/// the plain file). go-yaml's own writer puts them before the dash, which its reader attaches
/// to the outer sequence.
#[test]
fn list_item_collections_opening_with_comments() {
    let c = |t: &str| Key::Comment(Comment::new(t));
    let map = Value::Map(vec![
        Item {
            key: c(" sops:enc"),
            value: Value::Null,
        },
        Item::new("a", Value::Null),
        Item::new("b", Value::Int(1)),
    ]);
    let inner = Value::List(vec![
        Value::Comment(Comment::new(" c")),
        Value::Int(1),
        Value::Int(2),
    ]);
    let inline_first = Value::Map(vec![
        Item {
            key: Key::Comment(Comment {
                text: " i".into(),
                inline: true,
            }),
            value: Value::Null,
        },
        Item::new("x", Value::Int(3)),
    ]);
    let tree = Tree {
        branches: vec![vec![Item::new(
            "l",
            Value::List(vec![
                Value::Map(vec![Item::new("x", Value::Int(0))]),
                map,
                inner,
                inline_first,
            ]),
        )]],
    };
    let want4 = "l:\n    - x: 0\n    -\n      # sops:enc\n      a: null\n      b: 1\n    -\n      # c\n      - 1\n      - 2\n    - x: 3 # i\n";
    let want2 = "l:\n  - x: 0\n  -\n    # sops:enc\n    a: null\n    b: 1\n  -\n    # c\n    - 1\n    - 2\n  - x: 3 # i\n";
    for (st, want) in [(store_indent(4), want4), (store_indent(2), want2)] {
        let text = String::from_utf8(st.emit_plain(&tree).unwrap()).unwrap();
        assert_eq!(text, want);
        assert_eq!(st.load_plain(text.as_bytes()).unwrap(), tree);
    }
    // An end-of-line comment cannot follow `{}`: it goes on its own line after the dash.
    let tree = Tree {
        branches: vec![vec![Item::new(
            "l",
            Value::List(vec![Value::Map(vec![
                Item {
                    key: Key::Comment(Comment {
                        text: " i".into(),
                        inline: true,
                    }),
                    value: Value::Null,
                },
                Item::new("x", Value::Map(Vec::new())),
            ])]),
        )]],
    };
    let text = String::from_utf8(store().emit_plain(&tree).unwrap()).unwrap();
    assert_eq!(text, "l:\n    -\n      # i\n      x: {}\n");
    assert_eq!(
        without_inline(&store().load_plain(text.as_bytes()).unwrap()),
        without_inline(&tree)
    );
}

/// Whether each non-comment leaf, in walk order, is encrypted (comments dropped: sops moves
/// some of them when writing, see above).
fn encrypted_leaves(v: &Value, out: &mut Vec<bool>) {
    match v {
        Value::Map(m) => m.iter().for_each(|i| encrypted_leaves(&i.value, out)),
        Value::List(l) => l.iter().for_each(|e| encrypted_leaves(e, out)),
        Value::Comment(_) | Value::Null => {}
        Value::Str(s) if s.starts_with("ENC[") => out.push(!s.ends_with("type:comment]")),
        _ => out.push(false),
    }
}

/// With `encrypted_comment_regex`, we select the same values as sops 3.11 for comments around
/// the mappings of a sequence, and sops decrypts our files. (sops cannot decrypt its own file
/// when a comment opens a mapping inside a sequence: it writes the comment before the dash.)
#[test]
fn comment_rule_in_sequences_of_mappings_matches_sops() {
    let Some(judge) = SopsJudge::new("comment-rule") else {
        return;
    };
    let (key, tmp, public) = (&judge.key, &judge.tmp, SopsJudge::PUBLIC);
    let run = |args: &[&std::ffi::OsStr]| judge.run(args);
    let mut opts = crate::api::EncryptOptions::new(vec![public.parse().unwrap()]);
    opts.rule =
        Some(crate::SelectionRule::from_name("encrypted_comment_regex", "sops:enc").unwrap());
    let ids = crate::Identities::parse_key_file(&std::fs::read_to_string(key).unwrap()).unwrap();
    let cases = [
        "a:\n    -\n        # sops:enc\n        a: null\n        a_l: -601121046543\n# x\na_: []\n",
        "l:\n    - x: 0\n    -\n      # sops:enc\n      a: 1\n      b: 2\n    - c: 3\n",
        "l:\n    - x: 0\n    - # sops:enc\n      # y\n      a: 1\n      b: 2\n",
        "l:\n    - a: 1 # sops:enc\n      b: 2\n",
        "l:\n    - - 0\n    -\n      # sops:enc\n      - 1\n      - 2\n",
        "l:\n    -\n        a: 1\n        l2:\n            -\n                # sops:enc\n                x: 1\n                y: 2\n        # sops:enc\n        b: 2\n        c: 3\n",
        "l:\n    - a: 1\n      # sops:enc\n      b: 2\n      c: 3\n    # sops:enc\n    - d: 4\n      e: 5\n      # sops:enc\n    - f: 6\n",
    ];
    for src in cases {
        let plain = tmp.join("in.yaml");
        std::fs::write(&plain, src).unwrap();
        let theirs = run(&[
            "--encrypt".as_ref(),
            "--encrypted-comment-regex".as_ref(),
            "sops:enc".as_ref(),
            plain.as_os_str(),
        ]);
        assert!(
            theirs.status.success(),
            "{}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        // We read sops's file as sops does: where sops cannot decrypt its own file (a comment
        // that opens a mapping inside a sequence is written before the dash), neither can we.
        let enc = tmp.join("theirs.yaml");
        std::fs::write(&enc, &theirs.stdout).unwrap();
        let sops_self = run(&["decrypt".as_ref(), enc.as_os_str()]).status.success();
        let psd_theirs = crate::api::decrypt(
            &theirs.stdout,
            crate::Format::Yaml,
            &ids,
            &crate::api::DecryptOptions::default(),
        );
        assert_eq!(psd_theirs.is_ok(), sops_self, "{src}");
        let ours = crate::api::encrypt(src.as_bytes(), crate::Format::Yaml, &opts).unwrap();
        let leaves = |bytes: &[u8]| {
            let (t, _) = store().load_encrypted(bytes).unwrap();
            let mut v = Vec::new();
            encrypted_leaves(&Value::Map(t.branches.concat()), &mut v);
            v
        };
        assert_eq!(leaves(&ours), leaves(&theirs.stdout), "{src}");
        let enc = tmp.join("enc.yaml");
        std::fs::write(&enc, &ours).unwrap();
        let dec = run(&["decrypt".as_ref(), enc.as_os_str()]);
        assert!(
            dec.status.success(),
            "sops cannot decrypt ours: {}\n{}",
            String::from_utf8_lossy(&dec.stderr),
            String::from_utf8_lossy(&ours)
        );
        let back = store().load_plain(&dec.stdout).unwrap();
        let want = store().load_plain(src.as_bytes()).unwrap();
        let data = |t: &Tree| {
            let mut v = Vec::new();
            collect_scalars(&Value::Map(t.branches.concat()), &mut v);
            v
        };
        assert_eq!(data(&back), data(&want), "{src}");
    }
    std::fs::remove_dir_all(tmp).ok();
}

fn collect_scalars(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Map(m) => m
            .iter()
            .filter(|i| matches!(i.key, Key::Name(_)))
            .for_each(|i| collect_scalars(&i.value, out)),
        Value::List(l) => l.iter().for_each(|e| collect_scalars(e, out)),
        Value::Comment(_) => {}
        other => out.push(other.clone()),
    }
}

fn plain(src: &str) -> Branch {
    let t = store().load_plain(src.as_bytes()).unwrap();
    assert_eq!(t.branches.len(), 1);
    t.branches.into_iter().next().unwrap()
}

fn get<'a>(b: &'a Branch, k: &str) -> &'a Value {
    &b.iter().find(|i| i.key.name() == Some(k)).unwrap().value
}

#[test]
fn scalars_styles_and_structures() {
    let b = plain(concat!(
        "a: \"x\\ty\\u00e9\\x41 \\\n  z\"\n",
        "b: 'it''s\n  folded\n\n  para'\n",
        "c: |\n  l1\n   l2\n\n",
        "d: >-\n  f1\n  f2\n\n  f3\n    more\n  f4\n",
        "e: |+\n  keep\n\n",
        "f: plain\n  continued\n",
        "g: [a, 'b', {c: d, e: [1, 2]}, ]\n",
        "h: {x: 1,\n    y: [2,\n 3]}\n",
        "i: &anc\n  k: v\nj: *anc\n",
        "k: !!binary aGVs\n  bG8=\n",
        "l: ~\nm:\nn: !!str 12\no: |2\n   lead\n  x\n",
        "\"q k\": 'v'\n? explicit\n: val\n",
    ));
    assert_eq!(get(&b, "a"), &Value::Str("x\tyéA z".into()));
    assert_eq!(get(&b, "b"), &Value::Str("it's folded\npara".into()));
    assert_eq!(get(&b, "c"), &Value::Str("l1\n l2\n".into()));
    assert_eq!(get(&b, "d"), &Value::Str("f1 f2\nf3\n  more\nf4".into()));
    assert_eq!(get(&b, "e"), &Value::Str("keep\n\n".into()));
    assert_eq!(get(&b, "f"), &Value::Str("plain continued".into()));
    let Value::List(g) = get(&b, "g") else {
        panic!()
    };
    assert_eq!(g.len(), 3);
    assert_eq!(g[0], Value::Str("a".into()));
    let Value::Map(h) = get(&b, "h") else {
        panic!()
    };
    assert_eq!(h[1].value, Value::List(vec![Value::Int(2), Value::Int(3)]));
    assert_eq!(get(&b, "i"), get(&b, "j"));
    assert_eq!(get(&b, "k"), &Value::Str("hello".into()));
    assert_eq!(get(&b, "l"), &Value::Null);
    assert_eq!(get(&b, "m"), &Value::Null);
    assert_eq!(get(&b, "n"), &Value::Str("12".into()));
    assert_eq!(get(&b, "o"), &Value::Str(" lead\nx\n".into()));
    assert_eq!(get(&b, "q k"), &Value::Str("v".into()));
    assert_eq!(get(&b, "explicit"), &Value::Str("val".into()));
    // go-yaml's form for multi-line keys.
    let b = plain(
        "\"\":\n    ? |-\n        a\n        b\n    :   c: 1\n    ? |-\n        d\n    : x\n    f:\n        - ? |-\n            g\n            h\n          : 1\n",
    );
    let Value::Map(m) = get(&b, "") else { panic!() };
    assert_eq!(m[0].key.name(), Some("a\nb"));
    assert_eq!(m[0].value, Value::Map(vec![Item::new("c", Value::Int(1))]));
    assert_eq!(m[1], Item::new("d", Value::Str("x".into())));
    assert_eq!(
        m[2].value,
        Value::List(vec![Value::Map(vec![Item::new("g\nh", Value::Int(1))])])
    );
}

#[test]
fn edge_vector_values() {
    let Some(dir) = vectors() else { return };
    let t = store()
        .load_plain(&std::fs::read(dir.join("generated-sops-3.11.0/edge.plain.yaml")).unwrap())
        .unwrap();
    let b = &t.branches[0];
    let time = |v: &Value| match v {
        Value::Time(t) => t.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(time(get(b, "date_only")), "2024-01-02T00:00:00Z");
    assert_eq!(time(get(b, "space_ts")), "2024-01-02T10:20:30.5Z");
    assert_eq!(get(b, "binary_tagged"), &Value::Str("hello".into()));
    assert_eq!(get(b, "octal_old"), &Value::Int(15));
    assert_eq!(get(b, "octal_new"), &Value::Int(15));
    assert_eq!(get(b, "underscore_int"), &Value::Int(1000));
    assert_eq!(get(b, "not_octal"), &Value::Float(8.0));
    assert_eq!(get(b, "plus_int"), &Value::Int(5));
    assert_eq!(get(b, "inf"), &Value::Float(f64::INFINITY));
    let Value::Map(dev) = get(b, "development") else {
        panic!()
    };
    assert_eq!(dev[0].key.name(), Some("<<"));
    assert_eq!(&dev[0].value, get(b, "defaults"));
    assert_eq!(get(b, "alias_value"), get(b, "defaults"));
}

fn parse_err(src: &str) -> (String, Option<usize>, Option<usize>) {
    match store().load_plain(src.as_bytes()) {
        Err(Error::Parse {
            message,
            line,
            column,
            ..
        }) => (message, line, column),
        other => panic!("{src:?}: {other:?}"),
    }
}

#[test]
fn errors() {
    let (m, l, _) = parse_err("a: 1\nb:\n  a: 2\n  a: 3\n");
    assert_eq!(m, "mapping key \"a\" already defined at line 3");
    assert_eq!(l, Some(4));
    // Only the first document is checked.
    assert!(store().load_plain(b"a: 1\n---\nb: 1\nb: 2\n").is_ok());
    let (m, ..) = parse_err("- a\n");
    assert!(m.contains("sequences are not supported"), "{m}");
    let (m, ..) = parse_err("a: 1\n---\n- b\n");
    assert!(m.contains("sequences are not supported"), "{m}");
    assert!(matches!(store().load_plain(b""), Err(Error::EmptyFile)));
    assert!(matches!(
        store().load_plain(b"# only a comment\n"),
        Err(Error::EmptyFile)
    ));
    assert!(matches!(
        store().load_plain(b"a: 1\nsops:\n    version: x\n"),
        Err(Error::AlreadyEncrypted)
    ));
    for (src, kind) in [
        ("1: a\n", "int"),
        ("true: a\n", "bool"),
        ("1.5: a\n", "float64"),
        ("~: a\n", "<nil>"),
        ("2024-01-01: a\n", "time.Time"),
    ] {
        match store().load_plain(src.as_bytes()) {
            Err(e @ Error::NonStringKey { .. }) => {
                assert!(e.to_string().contains(&format!("(type {kind})")), "{e}");
                assert_eq!(e.exit_code(), crate::error::exit::ERROR_ENCRYPTING_TREE);
            }
            other => panic!("{src}: {other:?}"),
        }
    }
    assert!(store().load_plain(b"\"1\": a\nyes: b\n").is_ok());
    assert!(matches!(
        store().load_plain(b"a: 18446744073709551615\n"),
        Err(Error::UnsupportedValue {
            kind: "uint64",
            line: 1
        })
    ));
    let (m, l, c) = parse_err("a: 1\nb: \"secret-value\n");
    assert!(!m.contains("secret"), "{m}");
    assert_eq!((l, c), (Some(2), Some(4)), "{m}");
    let (m, ..) = parse_err("a: !!int hunter2\n");
    assert!(!m.contains("hunter2") && m.contains("!!int"), "{m}");
    let (m, ..) = parse_err("a: *nope\n");
    assert!(m.contains("unknown anchor 'nope'"), "{m}");
    let (m, l, _) = parse_err("a: 1\n\tb: 2\n");
    assert!(m.contains("tab"), "{m}");
    assert_eq!(l, Some(2));
    let (m, ..) = parse_err("r: - not a seq\n");
    assert!(m.contains("block sequence entries"), "{m}");
    let (m, ..) = parse_err("a: b: c\n");
    assert!(m.contains("mapping values are not allowed"), "{m}");
    let (m, ..) = parse_err("%YAML 1.2\n---\na: 1\n");
    assert!(m.contains("incompatible"), "{m}");
    parse_err("a: [1, 2\n");
    parse_err("a:\n  b: 1\n c: 2\n");
    parse_err("a: 'x\n");
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("a: {}", "[".repeat(100_000));
    parse_err(&deep);
    let deep: String = (0..5000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    parse_err(&deep);
    let deep = format!("a: {}", "- ".repeat(5000));
    assert!(store().load_plain(deep.as_bytes()).is_err());
    let (m, l, c) = parse_err("a: 1\n# x\u{1}\n");
    assert_eq!(
        (m.as_str(), l, c),
        ("control characters are not allowed", Some(2), Some(4))
    );
    let e = store().load_plain(b"a: 1\n\xff\n").unwrap_err();
    assert!(matches!(e, Error::Parse { line: Some(2), .. }), "{e:?}");
}

#[test]
fn encrypted_loading() {
    let enc = b"a: 1\nsops:\n    mac: x\n---\nb: 2\nsops:\n    mac: y\n";
    let (t, m) = store().load_encrypted(enc).unwrap();
    assert_eq!(t.branches.len(), 2);
    assert!(
        t.branches
            .iter()
            .all(|b| b.iter().all(|i| i.key.name() != Some("sops")))
    );
    assert_eq!(
        m,
        Value::Map(vec![Item::new("mac", Value::Str("x".into()))])
    );
    assert!(matches!(
        store().load_encrypted(b"a: 1\n"),
        Err(Error::MetadataNotFound)
    ));
    assert!(matches!(
        store().load_encrypted(b""),
        Err(Error::MetadataNotFound)
    ));
    let e = store().load_encrypted(b"sops: 1\n").unwrap_err();
    assert!(e.to_string().contains("not a mapping"), "{e}");
    // Duplicate keys are rejected in the first document before the metadata is looked at.
    assert!(store().load_encrypted(b"sops: {}\nsops: {}\n").is_err());
    // Metadata is appended to every document.
    let out = store()
        .emit_encrypted(
            &t,
            &Value::Map(vec![Item::new("version", Value::Str("3.11.0".into()))]),
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "a: 1\nsops:\n    version: 3.11.0\n---\nb: 2\nsops:\n    version: 3.11.0\n"
    );
}

#[test]
fn emission_layout_indent_4_and_2() {
    let src = "top:\n- a: 1\n  l:\n  - x\n  - - y\n    - z\n  m:\n    k: v\n- - p\n  - q: 1\n    r: 2\n- \"multi\\nline\"\n- \"trail\\n\\n\"\n- \"\"\n- {}\n- []\n- null\ne: {}\nlit: \"a\\nb\\n\"\n";
    let t = store().load_plain(src.as_bytes()).unwrap();
    let four = String::from_utf8(store_indent(4).emit_plain(&t).unwrap()).unwrap();
    assert_eq!(
        four,
        "top:\n    - a: 1\n      l:\n        - x\n        - - \"y\"\n          - z\n      m:\n        k: v\n    - - p\n      - q: 1\n        r: 2\n    - |-\n      multi\n      line\n    - |+\n      trail\n\n    - \"\"\n    - {}\n    - []\n    - null\ne: {}\nlit: |\n    a\n    b\n"
    );
    let two = String::from_utf8(store_indent(2).emit_plain(&t).unwrap()).unwrap();
    assert_eq!(
        two,
        "top:\n  - a: 1\n    l:\n      - x\n      - - \"y\"\n        - z\n    m:\n      k: v\n  - - p\n    - q: 1\n      r: 2\n  - |-\n    multi\n    line\n  - |+\n    trail\n\n  - \"\"\n  - {}\n  - []\n  - null\ne: {}\nlit: |\n  a\n  b\n"
    );
    for out in [four, two] {
        assert_eq!(store().load_plain(out.as_bytes()).unwrap(), t);
    }
}

#[test]
fn inline_comments_are_written_at_the_end_of_the_line() {
    let src = "a: 1 # one\nb: # two\n    c: x\nl:\n    - p # three\n";
    let t = store().load_plain(src.as_bytes()).unwrap();
    let out = String::from_utf8(store().emit_plain(&t).unwrap()).unwrap();
    assert_eq!(out, src);
    assert_eq!(store().load_plain(out.as_bytes()).unwrap(), t);
}

// ---- round trip property ----

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,8}",
        "\\PC{0,12}",
        any::<String>(),
        prop::sample::select(vec![
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "true",
            "null",
            "~",
            "",
            " ",
            "123",
            "0x1F",
            "1e3",
            "1.0",
            ".inf",
            "2024-01-02",
            "12:30:00",
            "- a",
            "a: b",
            "a #b",
            "#x",
            "'",
            "\"",
            "a\nb",
            "a\nb\n",
            "\n",
            " lead\nx",
            "trail\n\n",
            "a\n\n\nb",
            "\ttab",
            "<<",
            "---",
            "...",
            "a\r\nb",
            "[x]",
            "{y}",
            "*z",
            "&w",
            "!t",
            "|",
            ">",
            "%",
            "@",
            "`",
            "é",
            "😀",
            "\u{feff}",
            "\u{85}",
            "\u{2028}",
        ])
        .prop_map(String::from),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    arb_string().prop_filter("reserved", |k| k != "sops")
}

fn arb_comment(inline: bool) -> impl Strategy<Value = Comment> {
    // Comment text is what a YAML file can hold: printable characters, no line break.
    "[ -~\u{a0}-\u{d7ff}\u{e000}-\u{fffd}\u{10000}-\u{10ffff}\t]{0,12}"
        .prop_filter("no BOM", |t| !t.contains('\u{feff}'))
        .prop_map(move |text| Comment { text, inline })
}

fn arb_time() -> impl Strategy<Value = Timestamp> {
    (
        1000i32..9999,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
        prop_oneof![Just(0i32), (-23 * 60i32..23 * 60).prop_map(|m| m * 60)],
    )
        .prop_map(
            |(year, month, day, hour, minute, second, nanosecond, offset_seconds)| Timestamp {
                year,
                month,
                day,
                hour,
                minute,
                second,
                nanosecond,
                offset_seconds,
            },
        )
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("integral floats re-read as ints, NaN != NaN", |f| {
                !f.is_nan() && f.fract() != 0.0
            })
            .prop_map(Value::Float),
        Just(Value::Float(f64::INFINITY)),
        Just(Value::Float(1e21)),
        arb_string().prop_map(Value::Str),
        arb_time().prop_map(Value::Time),
        prop::collection::vec(any::<u8>(), 1..8)
            .prop_filter("non-UTF-8 only", |b| std::str::from_utf8(b).is_err())
            .prop_map(Value::Bytes),
    ]
}

/// Mapping entries: unique keys, comments (inline only before scalar values), no trailing
/// comments after a nested collection (go-yaml itself would move those inward on re-read).
fn normalise_map(raw: Vec<(Option<Comment>, String, Value)>, nested: bool) -> Vec<Item> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (c, k, v) in raw {
        if !seen.insert(k.clone()) {
            continue;
        }
        if let Some(mut c) = c {
            if matches!(v, Value::Map(_) | Value::List(_)) {
                c.inline = false;
            }
            out.push(Item {
                key: Key::Comment(c),
                value: Value::Null,
            });
        }
        out.push(Item::new(k, v));
    }
    if nested {
        // A comment-only or comment-last nested map is not generated.
        while matches!(out.last().map(|i| &i.key), Some(Key::Comment(_))) {
            out.pop();
        }
    }
    out
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Map(m) if !m.is_empty()) && !matches!(v, Value::List(l) if !l.is_empty())
}

fn ends_with_collection(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.last().is_some_and(|i| !is_scalar(&i.value)),
        Value::List(l) => l.last().is_some_and(|e| !is_scalar(e)),
        _ => false,
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(
                (
                    prop::option::weighted(0.3, prop_oneof![arb_comment(false), arb_comment(true)]),
                    arb_key(),
                    inner.clone()
                ),
                0..5
            )
            .prop_map(|raw| Value::Map(normalise_map(raw, true))),
            prop::collection::vec(
                (
                    prop::option::weighted(0.3, prop_oneof![arb_comment(false), arb_comment(true)]),
                    inner
                ),
                0..5
            )
            .prop_map(|raw| {
                let mut l = Vec::new();
                for (c, v) in raw {
                    if let Some(mut c) = c {
                        if matches!(v, Value::Map(_) | Value::List(_)) {
                            c.inline = false;
                        }
                        l.push(Value::Comment(c));
                    }
                    l.push(v);
                }
                while matches!(l.last(), Some(Value::Comment(_))) {
                    l.pop();
                }
                Value::List(l)
            }),
        ]
    })
}

fn arb_tree() -> impl Strategy<Value = Tree> {
    prop::collection::vec(
        (
            prop::collection::vec(
                (
                    prop::option::weighted(0.3, prop_oneof![arb_comment(false), arb_comment(true)]),
                    arb_key(),
                    arb_value(),
                ),
                0..6,
            ),
            prop::option::weighted(0.3, arb_comment(false)),
        ),
        1..3,
    )
    .prop_map(|docs| Tree {
        branches: docs
            .into_iter()
            .map(|(raw, foot)| {
                let mut b = normalise_map(raw, false);
                // A root foot comment after a nested collection is fine (it stays at the root).
                if let Some(c) = foot {
                    b.push(Item {
                        key: Key::Comment(c),
                        value: Value::Null,
                    });
                }
                b
            })
            .collect(),
    })
}

/// Removes comments that end a nested collection after a nested collection (see
/// `normalise_map`) at any depth.
fn no_trailing_comment_after_collection(v: &Value) -> bool {
    match v {
        Value::Map(m) => {
            m.iter()
                .all(|i| no_trailing_comment_after_collection(&i.value))
                && !(matches!(m.last().map(|i| &i.key), Some(Key::Comment(_))))
        }
        Value::List(l) => {
            l.iter().all(no_trailing_comment_after_collection)
                && !matches!(l.last(), Some(Value::Comment(_)))
        }
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// parse ∘ emit is the identity on trees, for indentation 4 and 2.
    #[test]
    fn emit_then_parse_is_identity(tree in arb_tree(), two in any::<bool>()) {
        for b in &tree.branches {
            for i in b {
                prop_assume!(no_trailing_comment_after_collection(&i.value) || !ends_with_collection(&i.value));
            }
        }
        let st = store_indent(if two { 2 } else { 4 });
        let bytes = st.emit_plain(&tree).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let back = st.load_plain(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &tree, "{}", text);
        // Emission is stable.
        prop_assert_eq!(st.emit_plain(&back).unwrap(), bytes);
    }

    /// The parser never panics on arbitrary input.
    #[test]
    fn parser_does_not_panic(s in "\\PC{0,80}|[-:#|>'\"\\[\\]{}&*!? \n\ta-c0-9]{0,80}") {
        let _ = store().load_plain(s.as_bytes());
        let _ = store().load_encrypted(s.as_bytes());
    }
}

/// `kubectl` from `PSD_KUBECTL` or PATH, or `None` (loud skip; a failure under `CI=true`).
fn kubectl() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("PSD_KUBECTL") {
        candidates.push(PathBuf::from(p));
    }
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("kubectl")));
    }
    if let Some(p) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(p);
    }
    assert!(!ci(), "kubectl was not found (CI=true)");
    #[allow(clippy::print_stderr)]
    {
        eprintln!("SKIPPED: kubectl not found (set PSD_KUBECTL)");
    }
    None
}

/// Data only: comments dropped, mapping keys sorted (kustomize sorts them).
fn data_only(v: &Value) -> serde_json::Value {
    match v {
        Value::Map(m) => {
            let mut sorted: Vec<(&str, &Value)> = m
                .iter()
                .filter_map(|i| i.key.name().map(|k| (k, &i.value)))
                .collect();
            sorted.sort_by_key(|(k, _)| *k);
            serde_json::Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), data_only(v)))
                    .collect(),
            )
        }
        Value::List(l) => serde_json::Value::Array(
            l.iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .map(data_only)
                .collect(),
        ),
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::json!(b),
        Value::Int(i) => serde_json::json!(i),
        Value::Float(f) => serde_json::json!(f),
        Value::Str(s) => serde_json::json!(s),
        Value::Time(t) => serde_json::json!(format!("time {t}")),
        Value::Bytes(b) => serde_json::json!(format!("{b:?}")),
        Value::Comment(_) => serde_json::Value::Null,
    }
}

/// Plain output for Kubernetes manifests reads back through `kubectl kustomize` with the same
/// data (quoting keeps `"on"`, `"0755"`, dates and times strings; blocks keep newlines).
#[test]
fn kubectl_reads_our_plain_output() {
    let Some(dir) = vectors() else { return };
    let Some(kubectl) = kubectl() else { return };
    let g = dir.join("generated-sops-3.11.0");
    let mut inputs = vec![
        std::fs::read_to_string(g.join("k8s.plain.yaml")).unwrap(),
        std::fs::read_to_string(g.join("multidoc.plain.yaml")).unwrap(),
    ];
    inputs.push(
        concat!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tricky # c\n  labels:\n",
            "    enabled: \"on\"\n    y: \"y\"\n    num: '8080'\n",
            "data:\n  a: 'yes'\n  b: \"0755\"\n  c: \"12:30:00\"\n  d: \"2024-01-02\"\n",
            "  e: \"multi\\nline\\n\"\n  f: \" lead\"\n  g: \"a: b\"\n  h: \"#x\"\n  i: \"~\"\n",
            "  j: \"tab\\there\"\n  k: \"\"\n  l: \"1e3\"\n  m: \"caf\u{e9} \u{1F600}\"\n",
        )
        .to_string(),
    );
    // Multi-line strings opening with a space inside sequences need an indentation indicator
    // relative to the list item (go-yaml, and so sops, gets this one wrong).
    inputs.push(
        concat!(
            "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n",
            "  l:\n    - a: 1\n      b: \" lead\\nx\"\n    - \" lead\\ny\"\n",
            "    - - \" lead\\nz\\n\"\n",
        )
        .to_string(),
    );
    let tmp = std::env::temp_dir().join(format!("psd-yaml-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for (n, input) in inputs.iter().enumerate() {
        let tree = store().load_plain(input.as_bytes()).unwrap();
        for indent in [4, 2] {
            let out = store_indent(indent).emit_plain(&tree).unwrap();
            std::fs::write(tmp.join("res.yaml"), &out).unwrap();
            std::fs::write(tmp.join("kustomization.yaml"), "resources:\n- res.yaml\n").unwrap();
            let res = Command::new(&kubectl)
                .arg("kustomize")
                .arg(&tmp)
                .output()
                .unwrap();
            assert!(
                res.status.success(),
                "input {n}: {}\n{}",
                String::from_utf8_lossy(&res.stderr),
                String::from_utf8_lossy(&out)
            );
            let back = store().load_plain(&res.stdout).unwrap();
            // kustomize orders resources by kind: compare the documents as a set.
            let docs = |t: &Tree| {
                let mut v: Vec<String> = t
                    .branches
                    .iter()
                    .map(|b| data_only(&Value::Map(b.clone())).to_string())
                    .collect();
                v.sort();
                v
            };
            let (want, got) = (docs(&tree), docs(&back));
            assert_eq!(got, want, "input {n}, indent {indent}");
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
}

fn has_multiline_key(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.iter().any(|i| {
            i.key
                .name()
                .is_some_and(|k| k.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']))
                || has_multiline_key(&i.value)
        }),
        Value::List(l) => l.iter().any(has_multiline_key),
        _ => false,
    }
}

/// A comment holding NEL, LINE SEPARATOR or PARAGRAPH SEPARATOR. YAML 1.2 (and we) read them
/// as ordinary characters; go-yaml follows YAML 1.1, where they break lines, so sops ends the
/// comment there (`# a\u{2028}b` comes back as `# a`). Comments only: in values we escape them.
fn has_line_break_in_comment(v: &Value) -> bool {
    const BREAKS: [char; 3] = ['\u{85}', '\u{2028}', '\u{2029}'];
    match v {
        Value::Map(m) => m.iter().any(|i| {
            matches!(&i.key, Key::Comment(c) if c.text.contains(BREAKS))
                || has_line_break_in_comment(&i.value)
        }),
        Value::List(l) => l.iter().any(has_line_break_in_comment),
        Value::Comment(c) => c.text.contains(BREAKS),
        _ => false,
    }
}

/// A multi-line string that starts with a space, as a list element or as a value of a mapping
/// that is itself a list element. go-yaml then needs an indentation indicator and writes the
/// wrong one: for `k: [" lead\nx"]` sops 3.11 decrypts to `- |4-` with the text at column 6,
/// and for `k: [{a: " lead\nx"}]` to `a: |4-` with the text at column 8, which sops itself
/// (and PyYAML) cannot read back ("did not find expected '-' indicator", "did not find
/// expected key"). We write `|2-` in both places, which both read.
fn has_indented_block_in_list(v: &Value) -> bool {
    fn indented_block(v: &Value) -> bool {
        matches!(v, Value::Str(s) if s.contains('\n') && s.starts_with(' '))
    }
    match v {
        Value::Map(m) => m.iter().any(|i| has_indented_block_in_list(&i.value)),
        Value::List(l) => l.iter().any(|e| match e {
            Value::Map(m) => m
                .iter()
                .any(|i| indented_block(&i.value) || has_indented_block_in_list(&i.value)),
            other => indented_block(other) || has_indented_block_in_list(other),
        }),
        _ => false,
    }
}

/// A `<<` key whose value is not a mapping: sops writes every `<<` key as `!!merge <<:` in its
/// own output and then cannot read that file back ("map merge requires map or sequence of
/// maps"), so sops cannot judge such trees at all.
fn has_non_map_merge_key(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.iter().any(|i| {
            (i.key.name() == Some("<<") && !matches!(i.value, Value::Map(_)))
                || has_non_map_merge_key(&i.value)
        }),
        Value::List(l) => l.iter().any(has_non_map_merge_key),
        _ => false,
    }
}

/// A mapping or sequence inside a sequence that starts with a comment. We write it as a bare
/// `-` with the comments on the following lines, which go-yaml reads back inside the nested
/// collection; go-yaml's writer puts such comments before the dash instead, where its reader
/// takes them as comments of the outer sequence (observed with sops 3.11), so they move on a
/// trip through sops.
fn has_list_item_opening_with_comment(v: &Value) -> bool {
    match v {
        Value::Map(m) => m
            .iter()
            .any(|i| has_list_item_opening_with_comment(&i.value)),
        Value::List(l) => l.iter().any(|e| {
            let opens = match e {
                Value::Map(m) => matches!(m.first().map(|i| &i.key), Some(Key::Comment(_))),
                Value::List(l) => matches!(l.first(), Some(Value::Comment(_))),
                _ => false,
            };
            opens || has_list_item_opening_with_comment(e)
        }),
        _ => false,
    }
}

fn has_empty_list_comment(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.iter().any(|i| has_empty_list_comment(&i.value)),
        Value::List(l) => l.iter().any(|e| {
            matches!(e, Value::Comment(c) if c.text.is_empty()) || has_empty_list_comment(e)
        }),
        _ => false,
    }
}

/// Clears the `inline` flag of every comment (sops 3.11 writes end-of-line comments on their
/// own line, so the flag does not survive a trip through it).
fn without_inline(tree: &Tree) -> Tree {
    fn v(x: &Value) -> Value {
        match x {
            Value::Map(m) => Value::Map(b(m)),
            Value::List(l) => Value::List(l.iter().map(v).collect()),
            Value::Comment(c) => Value::Comment(Comment::new(c.text.clone())),
            other => other.clone(),
        }
    }
    fn b(items: &Branch) -> Branch {
        items
            .iter()
            .map(|i| Item {
                key: match &i.key {
                    Key::Comment(c) => Key::Comment(Comment::new(c.text.clone())),
                    k => k.clone(),
                },
                value: v(&i.value),
            })
            .collect()
    }
    Tree {
        branches: tree.branches.iter().map(b).collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The real sops reads what we write: our plain output, encrypted and decrypted by sops,
    /// reads back (with our parser) as the same tree. Judges the emitter against go-yaml's
    /// parser and our parser against go-yaml's emitter.
    #[test]
    fn sops_reads_what_we_write(tree in arb_tree(), two in any::<bool>()) {
        // sops stores a list comment as a list string, and an empty one is never encrypted,
        // so it comes back as `""`.
        prop_assume!(!has_empty_list_comment(&Value::Map(tree.branches.concat())));
        prop_assume!(!has_list_item_opening_with_comment(&Value::Map(tree.branches.concat())));
        // go-yaml writes multi-line keys as `? |4-` blocks whose indentation indicator is
        // wrong inside sequences (its own reader then rejects them): not our concern here.
        prop_assume!(!has_multiline_key(&Value::Map(tree.branches.concat())));
        prop_assume!(!has_indented_block_in_list(&Value::Map(tree.branches.concat())));
        prop_assume!(!has_non_map_merge_key(&Value::Map(tree.branches.concat())));
        prop_assume!(!has_line_break_in_comment(&Value::Map(tree.branches.concat())));
        for b in &tree.branches {
            // A document of comments only is moved by sops to the previous document.
            prop_assume!(b.is_empty() || b.iter().any(|i| matches!(i.key, Key::Name(_))));
            for i in b {
                prop_assume!(no_trailing_comment_after_collection(&i.value) || !ends_with_collection(&i.value));
            }
        }
        let Some(judge) = SopsJudge::new("sops-prop") else { return Ok(()) };
        let tmp = &judge.tmp;
        let plain = tmp.join("in.yaml");
        let st = store_indent(if two { 2 } else { 4 });
        std::fs::write(&plain, st.emit_plain(&tree).unwrap()).unwrap();
        let run = |args: &[&std::ffi::OsStr]| judge.run(args);
        let enc = run(&["encrypt".as_ref(), "--input-type".as_ref(), "yaml".as_ref(), "--output-type".as_ref(), "yaml".as_ref(), plain.as_os_str()]);
        let text = std::fs::read_to_string(&plain).unwrap();
        prop_assert!(enc.status.success(), "sops encrypt failed: {}\n{}", String::from_utf8_lossy(&enc.stderr), text);
        let encfile = tmp.join("enc.yaml");
        std::fs::write(&encfile, &enc.stdout).unwrap();
        // Our parser reads sops's encrypted output.
        store().load_encrypted(&enc.stdout).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let dec = run(&["decrypt".as_ref(), "--input-type".as_ref(), "yaml".as_ref(), "--output-type".as_ref(), "yaml".as_ref(), encfile.as_os_str()]);
        prop_assert!(dec.status.success(), "sops decrypt failed: {}", String::from_utf8_lossy(&dec.stderr));
        let back = store().load_plain(&dec.stdout).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        std::fs::remove_dir_all(tmp).ok();
        prop_assert_eq!(without_inline(&back), without_inline(&tree), "ours:\n{}\nsops:\n{}", text, String::from_utf8_lossy(&dec.stdout));
    }
}
