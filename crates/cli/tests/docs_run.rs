//! Every shell block of the docs runs, so the docs cannot rot (issue 14).
//!
//! Each ```sh, ```bash, ```shell and ```console block of `README.md` and `docs/**/*.md` is run
//! with bash, in the order of its document, in a throw-away sandbox: its own HOME (and XDG
//! folders), the psd cargo built on PATH as `psd`, a fake cluster behind `kubectl` and `flux`
//! (its databases behind `psql` and `redis-cli`), and a fake Git host behind `ssh` that serves `git@github.com:you/my-cluster.git` from a bare
//! repository in the sandbox (see `setup_support`). The blocks of one document share their
//! sandbox and each reader's current folder, as a reader's shell would.
//!
//! A block someone else runs than the document's reader (a teammate on their own machine,
//! psd's developer in its checkout) is on [`SCENES`]. What cannot run offline is on [`SKIPS`]
//! (whole blocks) or [`SUBSTITUTIONS`] (a piece of a block replaced), each with its reason;
//! what a reader does between two blocks without a shell block (edit `.sops.yaml`, follow the
//! steps psd printed) is on [`HOOKS`], and so are the checks that a block did what its
//! document says. A scene or a hook must match exactly one block. The test fails when an entry matches no
//! block (so the lists stay honest), when a document with shell blocks is not on [`DOCS`], when
//! a command of a block fails (with document, line, the block and its output), and when any
//! output holds a private key or a private key file can be read by others.
//!
//! `DOCS_RUN_VERBOSE=1` prints every block with its output.
//!
//! Judges: git, sops, age (`age-keygen -y`), kubectl (`kubectl kustomize`, through
//! `psd doctor`) and `../shared` (schemas, for docs/LINT.md). Under `CI=true` a missing one is a
//! failure; elsewhere the test says it skipped and why.

// The timings and DOCS_RUN_VERBOSE's blocks go to the harness's captured standard error.
#![allow(clippy::print_stderr)]

mod setup_support;

mod doc_files;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use setup_support::{Sandbox, text, which};

/// A made-up Cloudflare token, standing in for the reader's.
const CF_TOKEN: &str = "cf-token-docs-run-0123456789abcdefghij";

/// Who runs a block. Each has a HOME of their own in the document's sandbox
/// (`$DOCS_SANDBOX/home-<name>`) and a current folder carried from block to block.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Who {
    /// Someone with nothing but psd and git: an empty HOME, in it.
    Newcomer,
    /// An operator whose cluster repository `~/src/cluster` was made the way
    /// docs/GETTING_STARTED.md makes it (init, render, commit, pushed to
    /// git@github.com:you/my-cluster.git), with an encrypted file of their own besides the
    /// Secrets psd renders (`secrets/backup.enc.yaml`); in it.
    Operator,
    /// A teammate on their own machine: an empty HOME, in it.
    Teammate,
    /// A developer of psd in a checkout `~/psd` (a committed copy of this repository's
    /// `.sops.yaml`, `gitops/` and `fixtures/`); in it.
    Developer,
    /// An operator whose repository `~/src/cluster` was rendered before issue 11: its key in
    /// the git-ignored `age.key`, no key file in `~/.config`; in it.
    LegacyOperator,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Newcomer => "newcomer",
            Who::Operator => "operator",
            Who::Teammate => "teammate",
            Who::Developer => "developer",
            Who::LegacyOperator => "legacy",
        }
    }

    /// What makes this person's state, run once before their first block.
    fn setup(self) -> &'static str {
        match self {
            Who::Newcomer | Who::Teammate => "",
            Who::Operator => {
                "mkdir -p ~/src/cluster && cd ~/src/cluster && git init -q\n\
                 psd init --domain example.org --email you@example.org\n\
                 psd render --cloudflare-token-file - <<< \"$DOCS_CF_TOKEN\"\n\
                 mkdir secrets && printf 'stringData:\\n  passphrase: backup-0123456789\\n' > secrets/backup.enc.yaml\n\
                 psd encrypt -i secrets/backup.enc.yaml\n\
                 git add -A && git commit -qm 'cluster: first render'\n\
                 git remote add origin git@github.com:you/my-cluster.git && git push -qu origin main\n"
            }
            Who::Developer => {
                "cd ~/psd && git init -q && git add -A && git commit -qm 'psd checkout'\n"
            }
            Who::LegacyOperator => {
                "mkdir -p ~/src/cluster && cd ~/src/cluster && git init -q\n\
                 psd keygen -o age.key\n\
                 echo age.key > .gitignore\n\
                 psd render --cloudflare-token-file - <<< \"$DOCS_CF_TOKEN\"\n\
                 git add -A && git commit -qm 'first render'\n\
                 test ! -e ~/.config/sops/age/keys.txt\n"
            }
        }
    }

    /// Where this person starts (relative to their HOME).
    fn start(self) -> &'static str {
        match self {
            Who::Newcomer | Who::Teammate => ".",
            Who::Operator | Who::LegacyOperator => "src/cluster",
            Who::Developer => "psd",
        }
    }
}

/// Every document with shell blocks, and who reads it.
const DOCS: &[(&str, Who)] = &[
    ("README.md", Who::Newcomer),
    ("docs/ARCHITECTURE.md", Who::Developer),
    ("docs/GETTING_STARTED.md", Who::Newcomer),
    ("docs/LAYOUT.md", Who::Operator),
    ("docs/LINT.md", Who::Operator),
    ("docs/MIGRATION-stack-v2.md", Who::Operator),
    ("docs/SECRETS_MANAGEMENT.md", Who::Operator),
];

/// Blocks run by someone else than their document's reader: (document, text of the block,
/// who, why).
const SCENES: &[(&str, &str, Who, &str)] = &[
    (
        "README.md",
        "cargo run -p cli -- render        # writes gitops/",
        Who::Developer,
        "\"on a fresh machine\" in psd's checkout",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "cat age.key >> ~/.config/sops/age/keys.txt",
        Who::LegacyOperator,
        "moving a legacy age.key: a repository rendered before issue 11",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "psd keygen -o ~/.config/sops/age/keys.txt",
        Who::Teammate,
        "\"the teammate makes a key\" on their own machine",
    ),
    (
        "docs/LINT.md",
        "--schema-location ../shared/schemas",
        Who::Developer,
        "\"psd's own CI validates its committed gitops/\": in psd's checkout",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "rm -r gitops .sops.yaml",
        Who::Developer,
        "the reference tree of psd's checkout",
    ),
];

/// Blocks not run: (document, text of the block, why).
const SKIPS: &[(&str, &str, &str)] = &[
    (
        "README.md",
        "psd keygen [-o FILE]",
        "a synopsis of every command (placeholders, alternatives), not commands to run; \
         docs_commands.rs checks each of its subcommands and flags against psd",
    ),
    (
        "docs/MIGRATION-stack-v2.md",
        "pg_dump -h 127.0.0.1",
        "a real cluster: pg_dump through kubectl exec in the Bitnami PostgreSQL pod of a \
         repository rendered before stack v2",
    ),
    (
        "docs/MIGRATION-stack-v2.md",
        "redis-cli --rdb /tmp/dump.rdb",
        "a real cluster: kubectl exec and kubectl cp in the Bitnami Redis pod",
    ),
    (
        "docs/MIGRATION-stack-v2.md",
        "kubectl label namespace database cache",
        "a real cluster: labels on its namespaces and volumes",
    ),
    (
        "docs/MIGRATION-stack-v2.md",
        "psd render --allow-destructive",
        "a repository rendered before stack v2 (the Bitnami tree this render replaces) and a \
         cluster running it; --allow-destructive itself is run by crates/render/tests/guards.rs and \
         crates/cli/tests/render_guards.rs",
    ),
    (
        "docs/MIGRATION-stack-v2.md",
        "pg_restore -h 127.0.0.1",
        "a real cluster: pg_restore through kubectl exec in the CloudNativePG pod",
    ),
    (
        "docs/MIGRATION-stack-v2.md",
        "kubectl delete namespace cache",
        "a real cluster: deletes its old namespace and volume",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "kubectl cnpg psql postgresql -n database",
        "a real cluster: an interactive psql in the database pod (the cnpg kubectl plugin)",
    ),
];

/// Pieces of blocks replaced before they run: (document, text, replacement, why).
const SUBSTITUTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "README.md",
        "cargo run -p cli --",
        "psd",
        "the psd cargo built for this test is on PATH; cargo in a test would build the \
         workspace again",
    ),
    (
        "README.md",
        "cargo test --workspace --locked",
        ":",
        "the whole test suite, this test included: CI runs it",
    ),
    (
        "README.md",
        "cargo install --locked --path crates/cli",
        ":",
        "installs psd from the checkout: the psd cargo built is on PATH as `psd`",
    ),
    (
        "README.md",
        "psd render --cloudflare-token-file ~/cloudflare-token.txt",
        "echo \"$DOCS_CF_TOKEN\" > ~/cloudflare-token.txt && psd render --cloudflare-token-file ~/cloudflare-token.txt",
        "the reader's Cloudflare token file: one with a made-up token is written first",
    ),
    (
        "docs/ARCHITECTURE.md",
        "cargo install cargo-insta --locked",
        ":",
        "installs cargo-insta from crates.io (network)",
    ),
    (
        "docs/ARCHITECTURE.md",
        "cargo test -p psd-render --locked",
        ":",
        "the render crate's snapshot tests: CI runs them; cargo in a test would build the \
         workspace again",
    ),
    (
        "docs/ARCHITECTURE.md",
        "cargo insta review",
        ":",
        "interactive (accept or reject each snapshot), and there is nothing to review",
    ),
    (
        "docs/ARCHITECTURE.md",
        "cargo test --workspace --locked",
        ":",
        "the whole test suite, this test included: CI runs it",
    ),
    (
        "docs/ARCHITECTURE.md",
        "cargo run -p cli --",
        "psd",
        "the psd cargo built for this test is on PATH",
    ),
    (
        "docs/GETTING_STARTED.md",
        "git clone <psd's repository URL> psd && cargo install --locked --path psd/crates/cli",
        ":",
        "clones psd from its Git host and builds it (network, minutes): the psd cargo built is \
         on PATH as `psd`",
    ),
    (
        "docs/GETTING_STARTED.md",
        "psd render --cloudflare-token-file ~/cloudflare-token.txt",
        "echo \"$DOCS_CF_TOKEN\" > ~/cloudflare-token.txt && psd render --cloudflare-token-file ~/cloudflare-token.txt",
        "the reader's Cloudflare token file: one with a made-up token is written first",
    ),
    (
        "docs/LAYOUT.md",
        "--url=<repo>",
        "--url=ssh://git@github.com/you/my-cluster.git",
        "a placeholder: the operator's repository on the fake Git host",
    ),
    (
        "docs/LINT.md",
        "SOPS_AGE_KEY_FILE=~/keys.txt",
        "SOPS_AGE_KEY_FILE=~/.config/sops/age/keys.txt",
        "a key file wherever the reader keeps it: the operator's is where psd init put it",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "'# psd: cluster key for /home/you/src/cluster'",
        "\"# psd: cluster key for $HOME/src/cluster\"",
        "the example path of the text; psd prints the command with the real one",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "pass show cloudflare/dns-token",
        "echo \"$DOCS_CF_TOKEN\"",
        "the reader's password manager",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "psd render --cloudflare-token-file ~/.config/psd/cloudflare-token",
        "mkdir -p ~/.config/psd && echo \"$DOCS_CF_TOKEN\" > ~/.config/psd/cloudflare-token && psd render --cloudflare-token-file ~/.config/psd/cloudflare-token",
        "the reader's Cloudflare token file: one with a made-up token is written first",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "read -rs CLOUDFLARE_API_TOKEN",
        "read -rs CLOUDFLARE_API_TOKEN <<< \"$DOCS_CF_TOKEN\"",
        "the reader types the token",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "cargo run -p cli --",
        "psd",
        "the psd cargo built for this test is on PATH",
    ),
];

/// When a hook runs: before or after its block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Before,
    After,
}

/// What a reader does around a block without a shell block, and checks that a block did what
/// its document says: (document, text of the block, before or after it, bash run by the
/// block's reader in the block's folder, why).
const HOOKS: &[(&str, &str, When, &str, &str)] = &[
    (
        "docs/GETTING_STARTED.md",
        "psd doctor               # the key",
        When::Before,
        "cmd=$(psd bootstrap | grep -E '^ *flux bootstrap ')\n\
         test -n \"$cmd\"\n\
         eval \"$cmd\"\n\
         git pull -q && psd render && git add -A && git commit -qm 'cluster: flux-system' && git push -q\n",
        "steps 3 to 5 of the list, which psd bootstrap printed: its flux bootstrap command, git \
         pull, psd render, commit and push",
    ),
    (
        "docs/GETTING_STARTED.md",
        "psd bootstrap --apply    # or let psd",
        When::After,
        "base64 -d \"$DOCS_SANDBOX/cluster/sops-age\" | age-keygen -y | grep -qxFf - <(grep -o 'age1[a-z0-9]*' .sops.yaml)\n",
        "the cluster's sops-age Secret holds the key of .sops.yaml's recipient",
    ),
    (
        "docs/LAYOUT.md",
        "git pull && psd render",
        When::After,
        "grep -qx -- '- flux-system' gitops/clusters/k3s/kustomization.yaml\n",
        "the render lists flux-system/ in the entry kustomization.yaml, as the comment says",
    ),
    (
        "docs/LINT.md",
        "--schema-location ../shared/schemas",
        When::Before,
        "ln -s \"$DOCS_SHARED\" ../shared\n",
        "the schema folders the block names, beside the checkout",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "psd bootstrap --print-secret | kubectl apply",
        When::After,
        "base64 -d \"$DOCS_SANDBOX/cluster/sops-age\" | age-keygen -y | grep -qxFf - <(grep -o 'age1[a-z0-9]*' .sops.yaml)\n",
        "the cluster's sops-age Secret holds the key of .sops.yaml's recipient",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "--from-file=age.agekey=\"$HOME/.config/sops/age/keys.txt\"",
        When::Before,
        "rm -r \"$DOCS_SANDBOX/cluster/ns/flux-system\" \"$DOCS_SANDBOX/cluster/secrets\" \"$DOCS_SANDBOX/cluster/sops-age\"\n",
        "\"by hand\" is instead of psd bootstrap: a cluster without flux-system",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "--from-file=age.agekey=/dev/stdin",
        When::Before,
        "rm -r \"$DOCS_SANDBOX/cluster/ns/flux-system\" \"$DOCS_SANDBOX/cluster/secrets\" \"$DOCS_SANDBOX/cluster/sops-age\"\n\
         psd keygen >> ~/.config/sops/age/keys.txt\n",
        "instead of the block before, with a key file that holds another key too",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "--from-file=age.agekey=/dev/stdin",
        When::After,
        "test \"$(base64 -d \"$DOCS_SANDBOX/cluster/sops-age\" | grep -c '^AGE-SECRET-KEY-1')\" = 1\n\
         base64 -d \"$DOCS_SANDBOX/cluster/sops-age\" | age-keygen -y | grep -qxFf - <(grep -o 'age1[a-z0-9]*' .sops.yaml)\n",
        "the Secret holds this cluster's key only",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "cat age.key >> ~/.config/sops/age/keys.txt",
        When::After,
        "test ! -e age.key\n\
         sops decrypt gitops/databases/redis/secret.enc.yaml > /dev/null\n",
        "the key moved where sops finds it (sops is the judge)",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "'[\"metadata\"][\"annotations\"][\"backup.example.org/owner\"]'",
        When::After,
        "psd render\n\
         test \"$(sops decrypt --extract '[\"stringData\"][\"replication-password\"]' gitops/databases/postgresql/app-credentials.enc.yaml)\" = '…'\n",
        "\"a render keeps what you add\"",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "git commit -am \"sops: add <teammate>\"",
        When::Before,
        "t=$(age-keygen -y \"$DOCS_SANDBOX/home-teammate/.config/sops/age/keys.txt\")\n\
         sed -i \"s/^\\( *age: .*\\)$/\\1,$t/\" .sops.yaml\n\
         grep -q \"$t\" .sops.yaml\n",
        "step 2 (a YAML block): the teammate's recipient added to the creation rule",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "git commit -am \"sops: add <teammate>\"",
        When::After,
        "for f in $(git ls-files '*.enc.yaml'); do\n\
           HOME=\"$DOCS_SANDBOX/home-teammate\" XDG_CONFIG_HOME=\"$DOCS_SANDBOX/home-teammate/.config\" sops decrypt \"$f\" > /dev/null || exit 1\n\
         done\n",
        "the teammate's key opens every encrypted file (sops is the judge, in the teammate's HOME: sops \
         tries every key source)",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "do psd rotate -i \"$f\"; done",
        When::Before,
        "t=$(age-keygen -y \"$DOCS_SANDBOX/home-teammate/.config/sops/age/keys.txt\")\n\
         sed -i \"s/,$t//\" .sops.yaml\n\
         if grep -q \"$t\" .sops.yaml; then exit 1; fi\n",
        "\"delete their recipient from .sops.yaml\"",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "do psd rotate -i \"$f\"; done",
        When::After,
        "for f in $(git ls-files '*.enc.yaml'); do\n\
           sops decrypt \"$f\" > /dev/null || exit 1\n\
           if HOME=\"$DOCS_SANDBOX/home-teammate\" XDG_CONFIG_HOME=\"$DOCS_SANDBOX/home-teammate/.config\" sops decrypt \"$f\" > /dev/null 2>&1; then\n\
             echo \"the removed teammate still opens $f; .sops.yaml and its recipients:\" >&2\n\
             grep age .sops.yaml >&2; grep 'recipient:' \"$f\" >&2; exit 1\n\
           fi\n\
         done\n",
        "the removed teammate's key opens no file, the operator's every one (sops is the judge)",
    ),
    (
        "docs/SECRETS_MANAGEMENT.md",
        "rm -r gitops .sops.yaml",
        When::After,
        "r=$(grep -o 'age1[a-z0-9]*' .sops.yaml)\n\
         test \"$r\" != age1yqfvvgwkla5hml0hetyc7sdll02ekfuwury0c0hwlgcc5vm53pqsxps736\n\
         grep -qx \"# public key: $r\" ~/.config/sops/age/keys.txt\n\
         sops decrypt gitops/databases/redis/secret.enc.yaml > /dev/null\n",
        "a new key in ~/.config/sops/age/keys.txt, .sops.yaml names it, not the test key",
    ),
    (
        "docs/ARCHITECTURE.md",
        "git diff gitops/",
        When::After,
        "git diff --exit-code --stat gitops/\n",
        "without a renderer change the reference tree renders byte for byte as committed",
    ),
];

/// The checkout: this repository.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the checkout (schemas), if there.
fn shared() -> Option<PathBuf> {
    let p = checkout().join("../shared");
    p.join("schemas")
        .is_dir()
        .then(|| p.canonicalize().unwrap())
}

/// README.md and every Markdown file under docs/, by path relative to the checkout.
fn documents() -> Vec<(String, String)> {
    doc_files::documents(&checkout())
}

/// A shell block: the line of its opening fence and its text (the fence's indentation
/// removed; of a ```console block only the `$ ` lines, without the prompt).
#[derive(Debug, Clone)]
struct Block {
    line: usize,
    body: Vec<String>,
}

impl Block {
    fn text(&self) -> String {
        self.body.join("\n")
    }
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, bool, bool)> = None; // (line, indent, shell, console)
    let mut body = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                Some((start, _, shell, _)) => {
                    if shell {
                        out.push(Block {
                            line: start,
                            body: std::mem::take(&mut body),
                        });
                    }
                    body.clear();
                }
                None => {
                    let info = info.trim();
                    let shell = matches!(info, "sh" | "bash" | "shell" | "console");
                    open = Some((i + 1, indent, shell, info == "console"));
                }
            }
            continue;
        }
        if let Some((_, fence_indent, true, console)) = open {
            let l = if line.len() >= fence_indent && line[..fence_indent].trim().is_empty() {
                &line[fence_indent..]
            } else {
                trimmed
            };
            if console {
                let continued = body.last().is_some_and(|p: &String| p.ends_with('\\'));
                if let Some(cmd) = l.strip_prefix("$ ") {
                    body.push(cmd.to_owned());
                } else if continued {
                    body.push(l.to_owned());
                }
            } else {
                body.push(l.to_owned());
            }
        }
    }
    out
}

/// The script bash runs for a block: each complete command line (continuations with `\`, a
/// trailing `|`, `&&` or `||` joined) followed by a check of its exit status, so a failure in
/// the middle of an `&&` list or a pipe stops the block, naming the document's line.
fn script(doc: &str, first_line: usize, body: &[String]) -> String {
    let mut s = String::from("set -o pipefail\n");
    let mut start: Option<usize> = None;
    for (i, l) in body.iter().enumerate() {
        let n = first_line + 1 + i;
        s.push_str(l);
        s.push('\n');
        let start_n = *start.get_or_insert(n);
        let code = l.trim_end();
        let code = match code.find(" #") {
            Some(p) if !code.ends_with('\\') => code[..p].trim_end(),
            _ => code,
        };
        if code.ends_with('\\') || code.ends_with('|') || code.ends_with("&&") {
            continue;
        }
        if !code.trim().is_empty() && !code.trim_start().starts_with('#') {
            s.push_str(&format!(
                "__st=$?; if [ $__st -ne 0 ]; then echo \"docs_run: {doc}:{start_n}: exit $__st\" >&2; exit $__st; fi\n"
            ));
        }
        start = None;
    }
    s.push_str("pwd > \"$DOCS_CWD_FILE\"\n");
    s
}

/// `AGE-SECRET-KEY-1…` replaced, for messages.
fn redact(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("AGE-SECRET-KEY-1") {
        out.push_str(&rest[..p]);
        out.push_str("AGE-SECRET-KEY-1<redacted>");
        rest = rest[p..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-');
    }
    out.push_str(rest);
    out
}

/// A document's sandbox: one fake cluster and Git host, a HOME and a current folder per reader.
struct DocSandbox {
    sb: Sandbox,
    cwd: BTreeMap<Who, PathBuf>,
    elapsed_setup: std::time::Duration,
}

impl DocSandbox {
    fn new() -> Self {
        let mut sb = Sandbox::new();
        sb.psd_on_path();
        sb.fake_cluster();
        sb.host_repository("you/my-cluster.git");
        // The cluster's databases, as psql and redis-cli reach them: they answer when psd
        // gave them the password in their environment.
        sb.fake(
            "psql",
            "#!/bin/bash\n[ -n \"$PGPASSWORD\" ] && [ -n \"$PGHOST\" ] || { echo 'psql: error: no password supplied' >&2; exit 2; }\necho ' PostgreSQL 18.1 (fake)'\n",
        );
        sb.fake(
            "redis-cli",
            "#!/bin/bash\n[ -n \"$REDISCLI_AUTH\" ] || { echo 'NOAUTH Authentication required.'; exit 1; }\necho PONG\n",
        );
        Self {
            sb,
            cwd: BTreeMap::new(),
            elapsed_setup: std::time::Duration::ZERO,
        }
    }

    fn home(&self, who: Who) -> PathBuf {
        self.sb.dir.path().join(format!("home-{}", who.name()))
    }

    /// Runs `script` as `who` in their current folder; on success, their folder becomes the
    /// one the script ended in. `Err` is the report.
    fn run(&mut self, who: Who, what: &str, script: &str) -> Result<(), String> {
        if !self.cwd.contains_key(&who) {
            let t = Instant::now();
            let home = self.home(who);
            self.sb.git_user(&home);
            if who == Who::Developer {
                copy_checkout(&home.join("psd"));
            }
            self.cwd.insert(who, home.clone());
            let setup = who.setup();
            if !setup.is_empty() {
                self.run(who, &format!("the setup of the {}", who.name()), setup)?;
            }
            self.cwd.insert(who, home.join(who.start()));
            self.elapsed_setup += t.elapsed();
        }
        let home = self.home(who);
        let cwd = self.cwd[&who].clone();
        let cwd_file = self.sb.dir.path().join("cwd");
        let _ = std::fs::remove_file(&cwd_file);
        let full = if script.contains("DOCS_CWD_FILE") {
            script.to_owned()
        } else {
            format!("set -e -o pipefail\n{script}\npwd > \"$DOCS_CWD_FILE\"\n")
        };
        let env = [
            ("DOCS_SANDBOX", self.sb.dir.path().display().to_string()),
            ("DOCS_CF_TOKEN", CF_TOKEN.to_owned()),
            ("DOCS_CWD_FILE", cwd_file.display().to_string()),
            (
                "DOCS_SHARED",
                shared()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
        ];
        let out = self.sb.sh(&full, &home, &cwd, &env);
        let output = format!("{}{}", text(&out.stdout), text(&out.stderr));
        if let Some(leak) = self.leaked_key(&output) {
            return Err(format!(
                "{what} printed a private key ({leak}); the block:\n{}",
                redact(script)
            ));
        }
        if !out.status.success() {
            return Err(format!(
                "{what} failed (exit {:?}) as the {} in {}\n--- the block as run:\n{}\n--- its output:\n{}",
                out.status.code(),
                who.name(),
                cwd.display(),
                redact(script),
                redact(&output)
            ));
        }
        if std::env::var_os("DOCS_RUN_VERBOSE").is_some() {
            eprintln!(
                "=== {what} as the {} in {}\n{}\n--- output:\n{}",
                who.name(),
                cwd.display(),
                redact(script),
                redact(&output)
            );
        }
        let ended = std::fs::read_to_string(&cwd_file).unwrap_or_default();
        if !ended.trim().is_empty() {
            self.cwd.insert(who, PathBuf::from(ended.trim()));
        }
        Ok(())
    }

    /// Whether `output` holds a private key: the key format, or a key line of any file of the
    /// sandbox's HOMEs. Names the file, never the key.
    fn leaked_key(&self, output: &str) -> Option<String> {
        if has_key_format(output) {
            return Some("AGE-SECRET-KEY-1 and 58 characters".into());
        }
        for (path, _) in key_files(self.sb.dir.path()) {
            let t = std::fs::read_to_string(&path).unwrap_or_default();
            for l in t.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-1")) {
                if output.contains(&l["AGE-SECRET-KEY-1".len()..]) {
                    return Some(format!("of {}", path.display()));
                }
            }
        }
        None
    }
}

/// Whether `s` holds something in the format of an age private key: `AGE-SECRET-KEY-1` and 58
/// characters of bech32 (the prefix alone is in messages and rule descriptions).
fn has_key_format(s: &str) -> bool {
    s.match_indices("AGE-SECRET-KEY-1").any(|(p, m)| {
        let rest = &s.as_bytes()[p + m.len()..];
        rest.len() >= 58
            && rest[..58]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    })
}

/// Every file under `dir` (not in `.git`, not the fake tools in `bin`, not the checkout's test
/// key, which is public on purpose) with a line that is an age private key, with its mode.
fn key_files(dir: &Path) -> Vec<(PathBuf, u32)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(name == ".git"
                || name == "githost"
                || name == "bin"
                || name.contains("NEVER-FOR-PRODUCTION"))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            std::fs::read(e.path()).is_ok_and(|b| {
                b.split(|&c| c == b'\n')
                    .any(|l| l.starts_with(b"AGE-SECRET-KEY-1"))
            })
        })
        .map(|e| {
            let mode = e.metadata().unwrap().permissions().mode();
            (e.path().to_owned(), mode)
        })
        .collect()
}

/// A checkout of psd as far as its blocks need: `.sops.yaml`, `gitops/`, `fixtures/`.
fn copy_checkout(to: &Path) {
    for entry in walkdir::WalkDir::new(checkout()).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(checkout()).unwrap();
        let top = rel.components().next().map(|c| c.as_os_str().to_owned());
        if !matches!(
            top.as_ref().and_then(|t| t.to_str()),
            Some(".sops.yaml" | "gitops" | "fixtures")
        ) {
            continue;
        }
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// How many blocks each entry of the lists matched.
#[derive(Default)]
struct Used {
    scenes: Vec<usize>,
    skips: Vec<usize>,
    subs: Vec<usize>,
    hooks: Vec<usize>,
}

impl Used {
    /// Every entry matched `n` blocks.
    fn all(n: usize) -> Self {
        Self {
            scenes: vec![n; SCENES.len()],
            skips: vec![n; SKIPS.len()],
            subs: vec![n; SUBSTITUTIONS.len()],
            hooks: vec![n; HOOKS.len()],
        }
    }
}

/// Runs the shell blocks of one document; the failures and what ran.
fn run_document(doc: &str, text: &str, used: &mut Used) -> (Vec<String>, String) {
    let Some(&(_, reader)) = DOCS.iter().find(|(d, _)| *d == doc) else {
        return (
            vec![format!(
                "{doc} has shell blocks but is not on DOCS (who reads it?)"
            )],
            String::new(),
        );
    };
    let t = Instant::now();
    let mut sandbox = DocSandbox::new();
    let mut failures = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    for block in blocks(text) {
        let body = block.text();
        let matches = |d: &str, needle: &str| d == doc && body.contains(needle);
        let mut skip = false;
        for (i, (d, needle, _)) in SKIPS.iter().enumerate() {
            if matches(d, needle) {
                used.skips[i] += 1;
                skip = true;
            }
        }
        if skip {
            skipped += 1;
            continue;
        }
        let mut who = reader;
        for (i, (d, needle, w, _)) in SCENES.iter().enumerate() {
            if matches(d, needle) {
                used.scenes[i] += 1;
                who = *w;
            }
        }
        let mut lines = block.body.clone();
        for (i, (d, find, replace, _)) in SUBSTITUTIONS.iter().enumerate() {
            if d == &doc && lines.iter().any(|l| l.contains(find)) {
                used.subs[i] += 1;
                for l in &mut lines {
                    *l = l.replace(find, replace);
                }
            }
        }
        let at = format!("{doc}:{}", block.line);
        let hooks = |when: When| {
            HOOKS
                .iter()
                .enumerate()
                .filter(move |(_, (d, needle, w, _, _))| *w == when && matches(d, needle))
        };
        let mut result = Ok(());
        for (i, (_, _, _, sh, why)) in hooks(When::Before) {
            used.hooks[i] += 1;
            if result.is_ok() {
                result = sandbox.run(
                    who,
                    &format!("the step before the block at {at} ({why})"),
                    sh,
                );
            }
        }
        if result.is_ok() {
            result = sandbox.run(
                who,
                &format!("the block at {at}"),
                &script(doc, block.line, &lines),
            );
        }
        for (i, (_, _, _, sh, why)) in hooks(When::After) {
            used.hooks[i] += 1;
            if result.is_ok() {
                result = sandbox.run(
                    who,
                    &format!("the check after the block at {at} ({why})"),
                    sh,
                );
            }
        }
        ran += 1;
        if let Err(e) = result {
            failures.push(e);
            break; // the blocks after it build on it
        }
    }
    for (path, mode) in key_files(sandbox.sb.dir.path()) {
        if mode & 0o077 != 0 {
            failures.push(format!(
                "{doc}: the private key file {} has mode {:o}: others can read it",
                path.strip_prefix(sandbox.sb.dir.path()).unwrap().display(),
                mode & 0o777
            ));
        }
    }
    let summary = format!(
        "{doc}: {ran} block(s) run, {skipped} skipped, {:.1}s ({:.1}s setting up)",
        t.elapsed().as_secs_f64(),
        sandbox.elapsed_setup.as_secs_f64()
    );
    (failures, summary)
}

/// Missing judges: git, sops, age-keygen, kubectl and `../shared`.
fn missing_judges() -> Vec<String> {
    let mut missing: Vec<String> = ["git", "sops", "age-keygen", "kubectl", "bash", "base64"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .map(|t| format!("{t} (not on PATH)"))
        .collect();
    if shared().is_none() {
        missing.push("../shared/schemas (beside the checkout)".into());
    }
    missing
}

#[test]
fn every_shell_block_of_the_docs_runs() {
    let missing = missing_judges();
    if !missing.is_empty() {
        let msg = format!(
            "SKIPPED: docs_run needs {} (./.ci/install-judges installs them; then \
             PATH=\"$PWD/.venv/bin:$PATH\")",
            missing.join(", ")
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        // Straight to the standard error file: the harness would hide an eprintln! of a test
        // that passes.
        let _ = writeln!(std::io::stderr(), "{msg}");
        return;
    }
    let t = Instant::now();
    let docs: Vec<(String, String)> = documents()
        .into_iter()
        .filter(|(_, text)| !blocks(text).is_empty())
        .collect();
    // Two documents at a time: the machine may have two cores.
    let results: Vec<(Vec<String>, String, Used)> = std::thread::scope(|s| {
        let chunks: Vec<_> = docs.chunks(docs.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(doc, text)| {
                            let mut used = Used::all(0);
                            let (f, s) = run_document(doc, text, &mut used);
                            (f, s, used)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut failures = Vec::new();
    let mut used = Used::all(0);
    for (f, summary, u) in results {
        eprintln!("{summary}");
        failures.extend(f);
        for (all, one) in [
            (&mut used.scenes, u.scenes),
            (&mut used.skips, u.skips),
            (&mut used.subs, u.subs),
            (&mut used.hooks, u.hooks),
        ] {
            for (a, b) in all.iter_mut().zip(one) {
                *a += b;
            }
        }
    }
    eprintln!("docs_run: {:.1}s", t.elapsed().as_secs_f64());
    // A failed block stops its document, so entries after it did not get their chance.
    if failures.is_empty() {
        failures.extend(stale_entries(&used));
    }
    for (doc, _) in DOCS {
        if !docs.iter().any(|(d, _)| d == doc) {
            failures.push(format!("DOCS lists {doc}, which has no shell block"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) with the docs' shell blocks:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Entries of the lists that matched no block.
fn stale_entries(used: &Used) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (d, n, _, _)) in SCENES.iter().enumerate() {
        if used.scenes[i] == 0 {
            out.push(format!("SCENES entry matches no block of {d}: {n:?}"));
        }
    }
    for (i, (d, n, _)) in SKIPS.iter().enumerate() {
        if used.skips[i] == 0 {
            out.push(format!("SKIPS entry matches no block of {d}: {n:?}"));
        }
    }
    for (i, (d, n, _, _)) in SUBSTITUTIONS.iter().enumerate() {
        if used.subs[i] == 0 {
            out.push(format!(
                "SUBSTITUTIONS entry matches no block that runs in {d}: {n:?}"
            ));
        }
    }
    for (i, (d, n, _, _, _)) in HOOKS.iter().enumerate() {
        if used.hooks[i] == 0 {
            out.push(format!(
                "HOOKS entry matches no block that runs in {d}: {n:?}"
            ));
        }
    }
    // A scene or hook is about one block: text that matches several is ambiguous.
    for (i, (d, n, _, _)) in SCENES.iter().enumerate() {
        if used.scenes[i] > 1 {
            out.push(format!(
                "SCENES entry matches {} blocks of {d}, not one: {n:?}",
                used.scenes[i]
            ));
        }
    }
    for (i, (d, n, when, _, _)) in HOOKS.iter().enumerate() {
        if used.hooks[i] > 1 {
            out.push(format!(
                "HOOKS entry ({}) matches {} blocks of {d}, not one: {n:?}",
                if *when == When::Before {
                    "before"
                } else {
                    "after"
                },
                used.hooks[i]
            ));
        }
    }
    out
}

#[test]
fn the_runner_fails_where_it_must() {
    // The pieces above on text whose answers are known, so the test above cannot pass by
    // running nothing or by missing a failure.
    let doc = "x\n```sh\necho one && false && echo two\necho three\n```\n```text\nfalse\n```\n   ```console\n   $ echo \\\n     four\n   four\n   ```\n";
    let b = blocks(doc);
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!((b[0].line, b[1].line), (2, 9));
    assert_eq!(b[1].body, ["echo \\", "  four"]);
    let mut sandbox = DocSandbox::new();
    // A failure in the middle of an && list stops the block and names its line.
    let err = sandbox
        .run(
            Who::Newcomer,
            "the block",
            &script("d.md", b[0].line, &b[0].body),
        )
        .unwrap_err();
    assert!(err.contains("docs_run: d.md:3: exit 1"), "{err}");
    let output = err.split("--- its output:").nth(1).unwrap();
    assert!(!output.contains("three"), "{err}");
    // A failing pipe's first command too.
    let err = sandbox
        .run(
            Who::Newcomer,
            "the block",
            &script("d.md", 1, &["false | cat".to_owned()]),
        )
        .unwrap_err();
    assert!(err.contains("d.md:2: exit 1"), "{err}");
    // The current folder carries over, and a block that prints a private key fails without
    // showing it.
    sandbox
        .run(
            Who::Newcomer,
            "cd",
            &script("d.md", 1, &["mkdir -p a/b && cd a/b".to_owned()]),
        )
        .unwrap();
    let err = sandbox
        .run(
            Who::Newcomer,
            "the block",
            &script("d.md", 1, &["pwd; psd keygen".to_owned()]),
        )
        .unwrap_err();
    assert!(err.contains("printed a private key"), "{err}");
    assert!(
        !err.contains("AGE-SECRET-KEY-1Q") && !err.contains("AGE-SECRET-KEY-1P"),
        "{err}"
    );
    sandbox
        .run(
            Who::Newcomer,
            "pwd",
            &script(
                "d.md",
                1,
                &["case $PWD in */home-newcomer/a/b) ;; *) exit 1;; esac".to_owned()],
            ),
        )
        .unwrap();
    // Entries that match no block are stale; a scene or hook that matches two is ambiguous.
    let stale = stale_entries(&Used::all(0));
    assert_eq!(
        stale.len(),
        SCENES.len() + SKIPS.len() + SUBSTITUTIONS.len() + HOOKS.len(),
        "{stale:?}"
    );
    assert!(stale_entries(&Used::all(1)).is_empty());
    let twice = stale_entries(&Used::all(2));
    assert_eq!(twice.len(), SCENES.len() + HOOKS.len(), "{twice:?}");
    assert!(twice.iter().all(|e| e.contains("not one")), "{twice:?}");
    assert!(!has_key_format("a rule about AGE-SECRET-KEY-1… lines"));
    assert!(has_key_format(&format!(
        "x AGE-SECRET-KEY-1{} y",
        "Q".repeat(58)
    )));
    assert_eq!(
        redact("x AGE-SECRET-KEY-1ABC123 y"),
        "x AGE-SECRET-KEY-1<redacted> y"
    );
}
