//! What a render may not do: overwrite files psd does not own, render the default over another
//! description's tree, rename a bootstrapped cluster, move `flux.root`; and how it writes:
//! all or nothing before the renames, never through a symlink, keeping file modes, removing
//! leftover temporaries, one render at a time.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use psd_render::{ChangeKind, Mode, RenderError, RenderOptions, Report, render};

const FIXTURE_KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/test-age-key.NEVER-FOR-PRODUCTION.txt"
);

fn fixture_recipient() -> String {
    std::fs::read_to_string(FIXTURE_KEY)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned()
}

/// A temporary repository with `.sops.yaml` for the fixture key and (optionally) `psd.yaml`.
fn repo(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".sops.yaml"),
        psd_render::sops_yaml(&[fixture_recipient()]).unwrap(),
    )
    .unwrap();
    if let Some(c) = config {
        std::fs::write(dir.path().join("psd.yaml"), c).unwrap();
    }
    dir
}

fn options(root: &Path) -> RenderOptions {
    let mut o = RenderOptions::new(root, Mode::Write);
    o.keys_from_env = false;
    o.key_env = psd_render::KeyEnv::empty();
    o.identity_files = vec![PathBuf::from(FIXTURE_KEY)];
    o
}

fn write(root: &Path) -> Result<Report, RenderError> {
    render(&options(root))
}

fn destructive(root: &Path) -> Result<Report, RenderError> {
    let mut o = options(root);
    o.allow_destructive = true;
    render(&o)
}

/// Every file under `root` (symlinks included, not followed) with its bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let bytes = if e.file_type().is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (e.path().strip_prefix(root).unwrap().to_owned(), bytes)
        })
        .collect()
}

const HR: &str = "gitops/apps/authentik/helmrelease.yaml";

#[test]
fn a_hand_written_file_at_a_psd_path_stops_the_render_until_forced() {
    let dir = repo(None);
    let mine = dir.path().join(HR);
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "# mine\n").unwrap();
    let err = write(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RenderError::NotOwned { .. }), "{msg}");
    assert!(msg.contains(&format!("{HR} (not written by psd)")), "{msg}");
    assert!(
        msg.contains("--force") && msg.contains("kustomize patch"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "# mine\n");
    assert!(!dir.path().join("gitops/.psd-files").exists());

    // --check reports it as drift and warns, without failing.
    let mut check = options(dir.path());
    check.mode = Mode::Check;
    let report = render(&check).unwrap();
    assert!(report.warnings.iter().any(|w| w.contains(HR)), "{report:?}");

    let mut o = options(dir.path());
    o.force = true;
    let report = render(&o).unwrap();
    assert!(report.warnings.iter().any(|w| w.contains("--force")));
    assert_ne!(std::fs::read_to_string(&mine).unwrap(), "# mine\n");
    // Now psd owns it: a second render is quiet.
    let again = write(dir.path()).unwrap();
    assert!(!again.has_drift(), "{again:?}");
}

#[test]
fn a_file_edited_since_psd_wrote_it_is_not_overwritten() {
    let dir = repo(None);
    write(dir.path()).unwrap();
    let hr = dir.path().join(HR);
    let edited = format!("{}# my tweak\n", std::fs::read_to_string(&hr).unwrap());
    std::fs::write(&hr, &edited).unwrap();
    let err = write(dir.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{HR} (edited since psd wrote it)")),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&hr).unwrap(), edited);
}

#[test]
fn an_old_path_only_list_still_counts_as_psds() {
    let dir = repo(None);
    write(dir.path()).unwrap();
    let list = dir.path().join("gitops/.psd-files");
    let text = std::fs::read_to_string(&list).unwrap();
    let old: String = std::iter::once("# Files written by `psd render`\n".to_owned())
        .chain(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{}\n", l.split_once("  ").unwrap().1)),
        )
        .collect();
    std::fs::write(&list, old).unwrap();
    // An old list with a file psd now renders differently: psd owns it, rewrites it.
    std::fs::write(dir.path().join(HR), "# older psd\n").unwrap();
    let report = write(dir.path()).unwrap();
    let changed: Vec<_> = report
        .changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Unchanged)
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(changed, ["gitops/.psd-files", HR]);
    assert_eq!(std::fs::read_to_string(&list).unwrap(), text);
}

#[test]
fn a_garbled_record_names_its_line() {
    let dir = repo(None);
    write(dir.path()).unwrap();
    let list = dir.path().join("gitops/.psd-files");
    let mut text = std::fs::read_to_string(&list).unwrap();
    text.push_str("zz  two words\n");
    std::fs::write(&list, &text).unwrap();
    let err = write(dir.path()).unwrap_err();
    let line = text.lines().count();
    assert!(
        err.to_string()
            .contains(&format!("gitops/.psd-files line {line}")),
        "{err}"
    );
}

#[test]
fn the_embedded_default_never_overwrites_another_descriptions_tree() {
    let dir = repo(Some("domain: example.org\n"));
    write(dir.path()).unwrap();
    let before = snapshot(dir.path());
    for psd_yaml in [None, Some(""), Some("# nothing yet\n\n")] {
        match psd_yaml {
            None => std::fs::remove_file(dir.path().join("psd.yaml")).unwrap(),
            Some(t) => std::fs::write(dir.path().join("psd.yaml"), t).unwrap(),
        }
        // Not even with --allow-destructive.
        let err = destructive(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, RenderError::DefaultOverOtherTree { .. }),
            "{msg}"
        );
        assert!(
            msg.contains("domain=example.org cluster=k3s root=gitops") && msg.contains("--config"),
            "{msg}"
        );
    }
    std::fs::remove_file(dir.path().join("psd.yaml")).unwrap();
    assert_eq!(snapshot(dir.path()), {
        let mut b = before;
        b.remove(Path::new("psd.yaml"));
        b
    });
    // Rendering the default over a tree of the default is fine.
    let fresh = repo(None);
    write(fresh.path()).unwrap();
    assert!(!write(fresh.path()).unwrap().has_drift());
}

#[test]
fn renaming_the_cluster_is_refused_and_explained() {
    let dir = repo(Some("domain: example.org\n"));
    write(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("psd.yaml"),
        "domain: example.org\nflux:\n  cluster_name: lab\n",
    )
    .unwrap();
    let before = snapshot(dir.path());
    // Not bootstrapped: two descriptions in one root, or a rename before bootstrap.
    let err = write(dir.path()).unwrap_err();
    assert!(matches!(err, RenderError::ClusterMismatch { .. }), "{err}");
    assert!(err.to_string().contains("share one flux.root"), "{err}");
    // Bootstrapped: Flux's own Kustomization reads the old folder.
    let fs = dir.path().join("gitops/clusters/k3s/flux-system");
    std::fs::create_dir_all(&fs).unwrap();
    std::fs::write(fs.join("gotk-sync.yaml"), "# flux\n").unwrap();
    let err = write(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RenderError::ClusterRenamed { .. }), "{msg}");
    assert!(
        msg.contains("gitops/clusters/k3s") && msg.contains("prunes everything"),
        "{msg}"
    );
    let mut after = snapshot(dir.path());
    after.remove(Path::new("gitops/clusters/k3s/flux-system/gotk-sync.yaml"));
    assert_eq!(after, before);
    // Allowed: the new entry folder exists, a warning says what to do.
    std::fs::remove_dir_all(&fs).unwrap();
    let report = destructive(dir.path()).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("cluster renamed"))
    );
    assert!(
        dir.path()
            .join("gitops/clusters/lab/kustomization.yaml")
            .is_file()
    );
    assert!(!dir.path().join("gitops/clusters/k3s").exists());
}

#[test]
fn moving_flux_root_is_refused_with_git_mv() {
    let dir = repo(Some("domain: example.org\n"));
    write(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("psd.yaml"),
        "domain: example.org\nflux:\n  root: deploy/flux\n",
    )
    .unwrap();
    let err = write(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RenderError::RootMoved { .. }), "{msg}");
    assert!(msg.contains("git mv gitops deploy/flux"), "{msg}");
    assert!(!dir.path().join("deploy").exists());
    // Moving the tree as the message says works (credentials kept).
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::rename(dir.path().join("gitops"), dir.path().join("deploy/flux")).unwrap();
    // The record still names the old paths: the moved files are psd's, rewritten in place.
    let list = dir.path().join("deploy/flux/.psd-files");
    let text = std::fs::read_to_string(&list)
        .unwrap()
        .replace("  gitops/", "  deploy/flux/")
        .replace("root=gitops", "root=deploy/flux");
    std::fs::write(&list, text).unwrap();
    let report = write(dir.path()).unwrap();
    assert!(
        report
            .changes
            .iter()
            .filter(|c| c.path.ends_with(".enc.yaml"))
            .all(|c| c.kind == ChangeKind::Unchanged),
        "{report:?}"
    );
}

#[test]
fn a_failed_write_changes_nothing() {
    let dir = repo(Some("domain: example.org\n"));
    write(dir.path()).unwrap();
    std::fs::write(dir.path().join("psd.yaml"), "domain: example.net\n").unwrap();
    let mut dry = options(dir.path());
    dry.mode = Mode::DryRun;
    let plan = render(&dry).unwrap();
    let updated: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Updated && !c.path.ends_with(".psd-files"))
        .map(|c| c.path.as_str())
        .collect();
    assert!(updated.len() >= 2, "{updated:?}");
    // The temporary of the last file cannot be created (a folder is in its place); works as
    // root too, where a read-only folder would not stop anything.
    let last = Path::new(updated[updated.len() - 1]);
    let blocker = dir.path().join(last.parent().unwrap()).join(format!(
        ".psd-tmp-{}",
        last.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::create_dir(&blocker).unwrap();
    let before = snapshot(dir.path());
    let err = write(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RenderError::NothingWritten { .. }), "{msg}");
    assert!(msg.contains("nothing was changed"), "{msg}");
    assert_eq!(snapshot(dir.path()), before, "the tree changed");
    std::fs::remove_dir(&blocker).unwrap();
    write(dir.path()).unwrap();
}

#[test]
fn symlinks_are_refused_and_left_alone() {
    let dir = repo(None);
    write(dir.path()).unwrap();
    std::fs::write(dir.path().join("psd.yaml"), "domain: example.org\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("elsewhere.yaml");
    std::fs::write(&target, "# elsewhere\n").unwrap();
    // A file replaced by a link.
    let hr = dir.path().join(HR);
    std::fs::remove_file(&hr).unwrap();
    std::os::unix::fs::symlink(&target, &hr).unwrap();
    let err = destructive(dir.path()).unwrap_err();
    assert!(matches!(err, RenderError::Symlink { .. }), "{err}");
    assert!(err.to_string().contains(HR), "{err}");
    assert_eq!(std::fs::read_link(&hr).unwrap(), target);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "# elsewhere\n");
    std::fs::remove_file(&hr).unwrap();
    // A folder replaced by a link.
    let redis = dir.path().join("gitops/databases/redis");
    let moved = outside.path().join("redis");
    std::fs::rename(&redis, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &redis).unwrap();
    let before = snapshot(outside.path());
    let err = write(dir.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("gitops/databases/redis is a symbolic link"),
        "{err}"
    );
    assert_eq!(snapshot(outside.path()), before);
}

#[test]
fn new_files_get_0644_and_existing_files_keep_their_mode() {
    let dir = repo(None);
    write(dir.path()).unwrap();
    for e in walkdir::WalkDir::new(dir.path().join("gitops")) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let mode = e.metadata().unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o644, "{}", e.path().display());
        }
    }
    let hr = dir.path().join(HR);
    std::fs::set_permissions(&hr, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A change that rewrites the file.
    let mut o = options(dir.path());
    o.config_path = Some(dir.path().join("other.yaml"));
    std::fs::write(
        dir.path().join("other.yaml"),
        "services:\n  authentik:\n    host: login\n",
    )
    .unwrap();
    let report = render(&o).unwrap();
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.path == HR && c.kind == ChangeKind::Updated),
        "{report:?}"
    );
    let mode = std::fs::metadata(&hr).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
}

#[test]
fn temporaries_of_earlier_runs_are_removed_and_nothing_else() {
    let dir = repo(None);
    write(dir.path()).unwrap();
    let g = dir.path().join("gitops");
    let gone = [
        g.join(".psd-tmp-x"),
        g.join("apps/authentik/.helmrelease.yaml.AbC123"),
        g.join("apps/authentik/.psd-tmp-helmrelease.yaml"),
    ];
    let kept = [
        g.join("apps/authentik/.notes.md.AbC123"),
        g.join("apps/authentik/.helmrelease.yaml.toolong7"),
        g.join("apps/authentik/notes.md"),
        dir.path().join(".psd-tmp-outside-the-tree"),
    ];
    for p in gone.iter().chain(&kept) {
        std::fs::write(p, "x\n").unwrap();
    }
    let report = write(dir.path()).unwrap();
    for p in &gone {
        assert!(!p.exists(), "{}", p.display());
    }
    for p in &kept {
        assert!(p.exists(), "{}", p.display());
    }
    assert!(
        report.notes.iter().any(|n| n.contains("temporaries")),
        "{report:?}"
    );
}

/// The value of `key` in the Secret at `rel`, decrypted with the fixture key.
fn secret_value(root: &Path, rel: &str, key: &str) -> String {
    let text = std::fs::read_to_string(FIXTURE_KEY).unwrap();
    let ids = psd_sops::keysource::Identities::parse_key_file(&text).unwrap();
    let plain = psd_sops::api::decrypt(
        &std::fs::read(root.join(rel)).unwrap(),
        psd_sops::Format::Yaml,
        &ids,
        &psd_sops::api::DecryptOptions::default(),
    )
    .unwrap();
    let doc: serde_json::Value =
        serde_saphyr::from_str(std::str::from_utf8(&plain.plain).unwrap()).unwrap();
    doc["stringData"][key].as_str().unwrap().to_owned()
}

#[test]
fn concurrent_renders_take_turns_and_agree_on_every_credential() {
    for _ in 0..10 {
        let dir = repo(None);
        let root = dir.path().to_path_buf();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let root = root.clone();
                std::thread::spawn(move || write(&root).map(|_| ()).map_err(|e| e.to_string()))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let app = secret_value(
            &root,
            "gitops/apps/authentik/secret.enc.yaml",
            "AUTHENTIK_POSTGRESQL__PASSWORD",
        );
        let role = secret_value(
            &root,
            "gitops/databases/postgresql/authentik-credentials.enc.yaml",
            "password",
        );
        assert!(app == role, "Authentik's database password differs");
        assert!(!write(&root).unwrap().has_drift());
    }
}

static WAITED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[test]
fn a_render_waits_for_the_lock_and_says_so() {
    let dir = repo(None);
    let holder = std::fs::File::open(dir.path()).unwrap();
    holder.lock().unwrap();
    let root = dir.path().to_path_buf();
    let t = std::thread::spawn(move || {
        let mut o = options(&root);
        o.on_wait = Some(|_| WAITED.store(true, std::sync::atomic::Ordering::SeqCst));
        render(&o).map_err(|e| e.to_string())
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!t.is_finished(), "the render did not wait for the lock");
    assert!(!dir.path().join("gitops").exists());
    holder.unlock().unwrap();
    let report = t.join().unwrap().unwrap();
    assert!(WAITED.load(std::sync::atomic::Ordering::SeqCst));
    assert!(
        report.notes.iter().any(|n| n.contains("waited")),
        "{report:?}"
    );
}
