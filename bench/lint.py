#!/usr/bin/env python3
"""Benchmark `psd lint` against reading and serde-parsing the same tree.

Generates a Flux tree of N service folders (each: kustomization.yaml, a HelmRelease with
values, an encrypted-looking Secret with ENC[...] values and a `sops:` block, an Ingress;
4 files per folder, so N=10,000 gives ~40,000 files) and times, in one run, as whole
processes (medians over --runs, after one warm-up):

  read         reading every file (`cat`), the floor
  parse-only   serde-saphyr parsing every YAML document into serde_json::Value, one thread
               (crates/lint/examples/parse_only.rs)
  lint         the lint library's rules without schema validation
  lint+schema  the same with --schema-location (shared/schemas) and --chart-schemas

`psd lint` is being written in parallel; until it exists the lint runs use the example binary
crates/lint/examples/lint_tree.rs, which calls the library the same way (Tree::from_dir, index,
lint). The goals (issue 13): lint <= 1.0x parse-only, lint+schema <= 2.0x parse-only.

Usage: bench/lint.py [--n N] [--runs N] [--shared DIR] [--keep DIR]
Needs: python3, `cargo build --release -p psd-lint --examples`.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "target", "release", "examples")


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
    count = sum(len(fs) for _, _, fs in os.walk(d))
    return count


def measure(cmd, runs):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # warm-up
    times, last = [], None
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - t)
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    return statistics.median(times), last


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    ap.add_argument("--keep", help="write the tree here and keep it")
    a = ap.parse_args()
    for b in ("parse_only", "lint_tree"):
        if not os.path.exists(os.path.join(EXAMPLES, b)):
            sys.exit(f"missing {b}: cargo build --release -p psd-lint --examples")
    d = a.keep or tempfile.mkdtemp(prefix="psd-lint-bench-")
    if a.keep and os.path.exists(d):
        shutil.rmtree(d)
    try:
        files = generate(d, a.n)
        print(f"tree: {a.n} service folders, {files} files, "
              f"{sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs) / 1e6:.1f} MB")
        schemas = os.path.join(a.shared, "schemas")
        lint = os.path.join(EXAMPLES, "lint_tree")
        rows = [
            ("read", ["sh", "-c", f"find '{d}' -type f -exec cat {{}} + > /dev/null"]),
            ("parse-only", [os.path.join(EXAMPLES, "parse_only"), d]),
            ("lint", [lint, "-q", d]),
            ("lint+schema", [lint, "-q", d, "--strict", "--kubernetes-version", "1.35.0",
                             "--schema-location", schemas + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
                             "--schema-location", schemas + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
                             "--chart-schemas", os.path.join(a.shared, "chart-schemas")]),
        ]
        results = {}
        for name, cmd in rows:
            t, last = measure(cmd, a.runs)
            results[name] = t
            print(f"{name:12s} {t * 1000:9.1f} ms   {last}", flush=True)
        base = results["parse-only"]
        print(f"\nlint / parse-only        {results['lint'] / base:.2f}x  (goal <= 1.0x)")
        print(f"lint+schema / parse-only {results['lint+schema'] / base:.2f}x  (goal <= 2.0x)")
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    finally:
        if not a.keep:
            shutil.rmtree(d)


if __name__ == "__main__":
    main()
