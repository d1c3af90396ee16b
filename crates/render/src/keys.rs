//! Age keys of a render: who the Secrets are encrypted to (`.sops.yaml`, else the config, else a
//! new key).

use std::path::Path;

use psd_model::AgeKeyPair;
use psd_model::cluster::ClusterConfig;
use psd_sops::keysource::Identities;
use serde_json::json;

use crate::error::RenderError;
use crate::output::{Mode, RenderOptions, Report};
use crate::write::write_atomic;
use crate::yaml;

/// The `.sops.yaml` psd writes for `recipients`.
pub(crate) fn sops_yaml(recipients: &[String]) -> Result<String, RenderError> {
    let doc = json!({
        "creation_rules": [{
            "path_regex": "\\.enc\\.yaml$",
            "encrypted_regex": "^(data|stringData)$",
            "age": recipients.join(","),
        }],
    });
    yaml::to_yaml(&doc)
}

/// The age recipients of the `.sops.yaml` creation rule that sops would use for a
/// rendered Secret (`gitops/….enc.yaml` under the config's directory).
pub(crate) fn from_sops_yaml(path: &Path, text: &str) -> Result<Vec<String>, RenderError> {
    let bad = |reason: String| RenderError::SopsConfig {
        path: path.to_owned(),
        reason,
    };
    let config = psd_sops::config::SopsConfig::parse(path, text.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let probe = std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .join("gitops/secret.enc.yaml");
    let rule = config.rule_for(&probe).map_err(|e| bad(e.to_string()))?;
    match rule.age_recipients().as_slice() {
        [group] if !group.is_empty() => Ok(group.clone()),
        [] | [_] => Err(bad(
            "the creation rule for *.enc.yaml has no age recipients".into(),
        )),
        _ => Err(bad(
            "the creation rule for *.enc.yaml has several key groups (Shamir); psd render \
             encrypts to one group: list the recipients in one `age` field"
                .into(),
        )),
    }
}

/// The private keys a render opens existing Secrets with: sops' own lookup (when
/// `opts.keys_from_env`), the repository's `age.key`, and `opts.identity_files`.
pub(crate) fn identities(opts: &RenderOptions) -> Result<Identities, RenderError> {
    let root = &opts.repo_root;
    let mut identities = Identities::new();
    if opts.keys_from_env {
        let (ids, _errors) = Identities::from_env();
        identities.extend(ids);
    }
    let repo_key = root.join("age.key");
    for path in std::iter::once(&repo_key).chain(&opts.identity_files) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path == &repo_key => continue,
            Err(e) => return Err(RenderError::io("cannot read", path, e)),
        };
        let parsed = Identities::parse_key_file(&text).map_err(|e| RenderError::SopsConfig {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        identities.extend(parsed);
    }

    Ok(identities)
}

/// Finds (or in write mode creates) the recipients. `None` in check/dry-run mode when none
/// exist yet.
pub(crate) fn resolve(
    root: &Path,
    cfg: &ClusterConfig,
    mode: Mode,
    needs_encryption: bool,
    report: &mut Report,
) -> Result<Option<Vec<String>>, RenderError> {
    let sops_path = root.join(".sops.yaml");
    match std::fs::read_to_string(&sops_path) {
        Ok(text) => return from_sops_yaml(&sops_path, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RenderError::io("cannot read", sops_path, e)),
    }
    if !cfg.sops.age_recipients.is_empty() {
        let rs = cfg.sops.age_recipients.clone();
        if mode == Mode::Write {
            write_atomic(&sops_path, sops_yaml(&rs)?.as_bytes())?;
            report
                .notes
                .push("wrote .sops.yaml for the recipients in psd.yaml".into());
        }
        return Ok(Some(rs));
    }
    if mode != Mode::Write || !needs_encryption {
        return Ok(None);
    }
    let key_path = root.join("age.key");
    if key_path.exists() {
        return Err(RenderError::NoRecipients(
            "age.key exists but there is no .sops.yaml: create one for its recipient \
             (psd keygen -y age.key) or delete age.key"
                .into(),
        ));
    }
    let pair = AgeKeyPair::generate();
    psd_model::write_key_file(&key_path, std::slice::from_ref(&pair)).map_err(|e| {
        RenderError::NoRecipients(format!("cannot create {}: {e}", key_path.display()))
    })?;
    add_to_gitignore(root, "age.key")?;
    let rs = vec![pair.recipient().to_string()];
    write_atomic(&sops_path, sops_yaml(&rs)?.as_bytes())?;
    report.notes.push(format!(
        "created age.key (mode 0600, added to .gitignore; back it up, it is the only key \
         that decrypts the Secrets) and .sops.yaml for its recipient {}. Give Flux the key: \
         kubectl create secret generic sops-age --namespace=flux-system \
         --from-file=age.agekey=age.key",
        rs[0]
    ));
    Ok(Some(rs))
}

fn add_to_gitignore(root: &Path, entry: &str) -> Result<(), RenderError> {
    let path = root.join(".gitignore");
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(RenderError::io("cannot read", path, e)),
    };
    if text.lines().any(|l| {
        let l = l.trim();
        l == entry || l == format!("/{entry}")
    }) {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("/{entry}\n"));
    write_atomic(&path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "age1jmv2gsxc7j5fr4ultc0sl9gp3yjfwq8cscynpax5caedrdrq2u4qw3x406";
    const B: &str = "age1s283pahn2yhszjxvx7qzl0aflq8zygm58rw0d87q6yjv7yrdl3zsc0ht2j";

    fn read(text: &str) -> Result<Vec<String>, String> {
        from_sops_yaml(Path::new("/repo/.sops.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn recipients_of_the_rule_sops_would_use() {
        // What psd writes reads back.
        let written = sops_yaml(&[A.to_owned(), B.to_owned()]).unwrap();
        assert_eq!(read(&written).unwrap(), [A, B]);
        // First matching rule, relative to the config's directory; a YAML list works.
        let text = format!(
            "creation_rules:\n  - path_regex: ^apps/\n    age: {B}\n  - path_regex: ^gitops/\n    age: [{A}]\n"
        );
        assert_eq!(read(&text).unwrap(), [A]);
        // No rule for the Secrets, no age key, several groups, not YAML: each says so.
        let e = read(&format!(
            "creation_rules:\n  - path_regex: ^apps/\n    age: {A}\n"
        ));
        assert!(e.unwrap_err().contains("no matching creation rules"));
        let e = read("creation_rules:\n  - pgp: ABCD\n").unwrap_err();
        assert!(e.contains("age"), "{e}");
        let groups =
            format!("creation_rules:\n  - key_groups:\n      - age: [{A}]\n      - age: [{B}]\n");
        assert!(read(&groups).unwrap_err().contains("several key groups"));
        assert!(read("creation_rules: [").is_err());
    }
}
