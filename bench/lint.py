#!/usr/bin/env python3
"""Benchmark `psd lint` against reading and serde-parsing the same tree.

Generates a Flux tree of N service folders (each: kustomization.yaml, a HelmRelease with
values, an encrypted-looking Secret with ENC[...] values and a `sops:` block, an Ingress;
4 files per folder, so N=10,000 gives ~40,000 files) and times, in one run, as whole
processes (medians over --runs, after one warm-up):

  read         reading every file (`cat`), the floor
  parse-only   serde-saphyr parsing every YAML document into serde_json::Value, one thread
               (crates/lint/examples/parse_only.rs)
  lint         `psd lint DIR --format json`: every rule, without schema validation
  lint+schema  the same with --strict --kubernetes-version 1.35.0, --schema-location
               (shared/schemas, both of its layouts) and --chart-schemas

and the peak resident memory (max RSS) of each, from wait4(2). The goals (issue 13): lint
<= 1.0x parse-only, lint+schema <= 2.0x parse-only, memory linear in the tree (compare two N).

Usage: bench/lint.py [--n N] [--runs N] [--shared DIR] [--keep DIR]
Needs: python3, `cargo build --release --locked -p cli -p psd-lint --bins --examples`.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "target", "release", "examples")
PSD = os.path.join(ROOT, "target", "release", "psd")


def enc(i, j):
    return f"ENC[AES256_GCM,data:c2VjcmV0LXZhbHVlLXt7aX19{i:05d}{j},iv:aXZpdml2aXZpdml2aXZpdml2aXY=,tag:dGFndGFndGFndGFndGFndA==,type:str]"


def service(i):
    name = f"svc-{i:05d}"
    ns = f"ns-{i % 100:02d}"
    kustomization = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"namespace: {ns}\nresources:\n  - helmrelease.yaml\n  - secret.enc.yaml\n  - ingress.yaml\n")
    helmrelease = f"""apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1h
  chart:
    spec:
      chart: valkey
      version: 0.11.0
      sourceRef:
        kind: HelmRepository
        name: valkey
        namespace: flux-system
  install:
    remediation:
      retries: 3
  values:
    image:
      registry: docker.io
      repository: valkey/valkey
      tag: "9.1.1"
    deploymentStrategy: Recreate
    auth:
      enabled: true
      usersExistingSecret: {name}-credentials
      aclUsers:
        default:
          permissions: ~* &* +@all
          passwordKey: password
    dataStorage:
      enabled: true
      requestedSize: 8Gi
      className: local-path
    resources:
      requests:
        cpu: 50m
        memory: 64Mi
"""
    secret = f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}-credentials
  namespace: {ns}
type: Opaque
stringData:
  username: {enc(i, 0)}
  password: {enc(i, 1)}
  url: {enc(i, 2)}
sops:
  age:
    - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhYmNkZWZnaGlqa2xtbm9w
        cXJzdHV2d3h5ejAxMjM0NTY3ODkKYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXow
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2026-12-01T10:00:00Z"
  mac: {enc(i, 9)}
  encrypted_regex: ^(data|stringData)$
  version: 3.11.0
"""
    ingress = f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: {ns}
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
spec:
  ingressClassName: traefik
  tls:
    - hosts: [{name}.example.org]
      secretName: {name}-tls
  rules:
    - host: {name}.example.org
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {name}
                port:
                  number: 6379
"""
    return name, {"kustomization.yaml": kustomization, "helmrelease.yaml": helmrelease,
                  "secret.enc.yaml": secret, "ingress.yaml": ingress}


def generate(d, n):
    os.makedirs(os.path.join(d, ".git"))
    apps = os.path.join(d, "apps")
    names = []
    for i in range(n):
        name, files = service(i)
        names.append(name)
        os.makedirs(os.path.join(apps, name))
        for f, text in files.items():
            with open(os.path.join(apps, name, f), "w") as fh:
                fh.write(text)
    with open(os.path.join(apps, "kustomization.yaml"), "w") as fh:
        fh.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
        fh.write("".join(f"  - {nm}\n" for nm in names))
    os.makedirs(os.path.join(d, "clusters", "bench"))
    with open(os.path.join(d, "clusters", "bench", "apps.yaml"), "w") as fh:
        fh.write("""apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
""")
    # The chart source every HelmRelease names, so that the tree lints clean.
    with open(os.path.join(d, "clusters", "bench", "valkey.yaml"), "w") as fh:
        fh.write("""apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: valkey
  namespace: flux-system
spec:
  interval: 1h
  url: https://valkey.io/valkey-helm/
""")
    count = sum(len(fs) for _, _, fs in os.walk(d))
    return count


def run_once(cmd):
    """Runs cmd with stdout to a temporary file; returns (seconds, max RSS in MiB, stdout)."""
    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        # psd lint exits 1 when it finds something; anything else is a failure.
        if p.returncode not in (0, 1):
            sys.exit(f"{cmd[0]} failed with {p.returncode}")
        out.seek(0)
        return elapsed, usage.ru_maxrss / 1024, out.read().decode()


def measure(cmd, runs):
    run_once(cmd)  # warm-up
    times, rss, text = [], [], ""
    for _ in range(runs):
        t, m, text = run_once(cmd)
        times.append(t)
        rss.append(m)
    return statistics.median(times), max(rss), text


def summary(text):
    """One line about the output: the number of findings of a JSON array, else its last line."""
    if text.startswith("["):
        findings = json.loads(text)
        rules = sorted({f["rule"] for f in findings})
        return f"{len(findings)} findings {' '.join(rules)}"
    return text.strip().splitlines()[-1] if text.strip() else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    ap.add_argument("--keep", help="write the tree here and keep it")
    a = ap.parse_args()
    for b in (os.path.join(EXAMPLES, "parse_only"), PSD):
        if not os.path.exists(b):
            sys.exit(f"missing {b}: cargo build --release --locked -p cli -p psd-lint --bins --examples")
    d = a.keep or tempfile.mkdtemp(prefix="psd-lint-bench-")
    if a.keep and os.path.exists(d):
        shutil.rmtree(d)
    try:
        files = generate(d, a.n)
        print(f"tree: {a.n} service folders, {files} files, "
              f"{sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs) / 1e6:.1f} MB")
        schemas = os.path.join(a.shared, "schemas")
        lint = [PSD, "lint", d, "--format", "json"]
        rows = [
            ("read", ["sh", "-c", f"find '{d}' -type f -exec cat {{}} + > /dev/null"]),
            ("parse-only", [os.path.join(EXAMPLES, "parse_only"), d]),
            ("lint", lint),
            ("lint+schema", lint + ["--strict", "--kubernetes-version", "1.35.0",
                             "--schema-location", schemas + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
                             "--schema-location", schemas + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
                             "--chart-schemas", os.path.join(a.shared, "chart-schemas")]),
        ]
        results = {}
        for name, cmd in rows:
            t, rss, text = measure(cmd, a.runs)
            results[name] = t
            print(f"{name:12s} {t * 1000:9.1f} ms  peak {rss:7.1f} MiB   {summary(text)}", flush=True)
        base = results["parse-only"]
        print(f"\nlint / parse-only        {results['lint'] / base:.2f}x  (goal <= 1.0x)")
        print(f"lint+schema / parse-only {results['lint+schema'] / base:.2f}x  (goal <= 2.0x)")
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    finally:
        if not a.keep:
            shutil.rmtree(d)


if __name__ == "__main__":
    main()
