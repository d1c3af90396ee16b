//! Errors about the cluster description point at the place: `psd.yaml:line:col`, as parse
//! errors do, and say what is accepted; nothing is written.

use psd_render::{Mode, RenderOptions, render};

fn error_for(config: &str) -> (String, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("psd.yaml");
    std::fs::write(&path, config).unwrap();
    let mut o = RenderOptions::new(dir.path(), Mode::Write);
    o.keys_from_env = false;
    let e = render(&o).unwrap_err().to_string();
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "a refused render wrote files: {left:?}");
    (e, path)
}

#[test]
fn invalid_values_name_file_line_and_column() {
    let cases = [
        ("domain: Example.org\n", "1:1", "`domain`"),
        (
            "# mine\ndomain: example.org\nflux:\n\n  cluster_name: Prod_1\n",
            "5:3",
            "`flux.cluster_name`",
        ),
        (
            "domain: example.org\nsops:\n  age_recipients:\n    - age1qqq\n",
            "4:7",
            "`sops.age_recipients[0]`",
        ),
        (
            "domain: example.org\nacme:\n  email: \"nobody\"\n",
            "3:3",
            "`acme.email`",
        ),
        (
            "domain: example.org\nservices:\n  postgresql:\n    instances: 0\n",
            "4:5",
            "`services.postgresql.instances`",
        ),
    ];
    for (config, at, field) in cases {
        let (e, path) = error_for(config);
        let want = format!("{}:{at}: invalid value for {field}", path.display());
        assert!(e.starts_with(&want), "{config}\nwant {want}\ngot  {e}");
    }
}

#[test]
fn parse_errors_keep_their_own_position() {
    let (e, path) = error_for("domain: example.org\nflux:\n  clustr_name: a\n");
    assert!(e.contains(&format!("{}:3:3", path.display())), "{e}");
    assert!(e.contains("unknown field `clustr_name`"), "{e}");
}
