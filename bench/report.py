"""Turn the measurements of scripts/bench into BENCHMARKS.md (printed on stdout)."""

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

out, binary, mode = sys.argv[1], sys.argv[2], sys.argv[3]


def version(command):
    try:
        text = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30)
        return (text.stdout or text.stderr).strip().splitlines()[0]
    except Exception as error:  # a missing tool is reported, not fatal
        return f"unknown ({error})"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hyperfine(name):
    with open(os.path.join(out, f"{name}.json")) as f:
        return [(r["command"], r["median"], r["stddev"] or 0.0) for r in json.load(f)["results"]]


heavy = {}
path = os.path.join(out, "heavy.tsv")
if os.path.exists(path):
    with open(path) as f:
        for line in f:
            name, items, rest, moto = line.rstrip("\n").split("\t")
            wall, user, sys_, rss = rest.split()
            heavy.setdefault(name, []).append(
                dict(items=int(items), wall=float(wall), cpu=float(user) + float(sys_), rss=int(rss), moto=float(moto))
            )


def med(name, key):
    return statistics.median(run[key] for run in heavy[name])


def short(command):
    command = command.replace(binary, "cruddur")
    return command if len(command) < 70 else command[:67] + "…"


def verdict(ok):
    return "met" if ok else "**not met**"


lines = []
add = lines.append
add("# Benchmarks")
add("")
add("Measured by `scripts/bench` in one run, side by side, on a throwaway local stack (PostgreSQL")
add("and the moto server on loopback). Rerun it to compare; every figure is a median.")
add("")
add(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; mode: {mode}")
add(f"- machine: {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.release()}")
add(f"- cruddur: {version(binary + ' --version')} (release build, {int(open(os.path.join(out, 'binary_size')).read()) / 1e6:.1f} MB)")
add(f"- aws: {version('aws --version')}")
boto3_version = version("python3 -c 'import boto3; print(boto3.__version__)'")
moto_version = version("python3 -c 'import moto; print(moto.__version__)'")
add(f"- python: {platform.python_version()}, boto3 {boto3_version}, moto {moto_version}")
add(f"- postgres: {version('postgres --version 2>/dev/null || ls /usr/lib/postgresql')}; psql: {version('psql --version')}")
add(f"- hyperfine: {version('hyperfine --version')}")
install = os.path.join(out, "install_seconds")
if os.path.exists(install):
    seconds = float(open(install).read().strip())
    add(f"- clean `cargo install --locked --path .` (empty target folder): {seconds / 60:.1f} min ({seconds:.0f} s)")
add("")
add("## Quick commands (hyperfine)")
add("")
add("| # | comparison | command | median | ± | ratio vs cruddur | target |")
add("|---|---|---|---|---|---|---|")
targets = {"version": ("1", 50), "list_tables": ("2", 15), "pg_load": ("3", None), "ddb_seed": ("4", None)}
for name, (number, target) in targets.items():
    results = hyperfine(name)
    base = results[0][1]
    for i, (command, median, stddev) in enumerate(results):
        ratio = median / base
        goal = ""
        if i > 0 and target:
            goal = f"≥ {target}×: {verdict(ratio >= target)}"
        if name == "ddb_seed" and i == 1:
            goal = f"≥ 20×: {verdict(ratio >= 20)}"
        if name == "ddb_seed" and i == 2:
            goal = f"≥ 3×: {verdict(ratio >= 3)}"
        add(f"| {number} | {name} | `{short(command)}` | {median * 1000:.1f} ms | {stddev * 1000:.1f} ms | {'—' if i == 0 else f'{ratio:.1f}×'} | {goal} |")
add("")

if heavy:
    add("## Large seed and scans (GNU time; the emulator's CPU read from /proc meanwhile)")
    add("")
    add("| # | run | items | wall | client CPU | CPU per 1,000 items | peak RSS | emulator CPU | emulator busy |")
    add("|---|---|---|---|---|---|---|---|---|")
    for name in heavy:
        items = heavy[name][0]["items"]
        wall, cpu, rss, moto = (med(name, k) for k in ("wall", "cpu", "rss", "moto"))
        number = "5" if name.startswith("seed") else "6"
        add(f"| {number} | {name} | {items:,} | {wall:.2f} s | {cpu:.2f} s | {cpu / items * 1000 * 1000:.1f} ms | {rss / 1024:.1f} MB | {moto:.2f} s | {moto / wall * 100:.0f}% |")
    add("")
    add("Ratios:")
    add("")
    if "seed_cruddur" in heavy and "seed_batch_writer" in heavy:
        wall = med("seed_batch_writer", "wall") / med("seed_cruddur", "wall")
        cpu = (med("seed_cruddur", "cpu") / heavy["seed_cruddur"][0]["items"]) / (med("seed_batch_writer", "cpu") / heavy["seed_batch_writer"][0]["items"])
        add(f"- 5. seed, wall: batch_writer / cruddur = {wall:.2f}× (target ≥ 3×: {verdict(wall >= 3)})")
        add(f"- 5. seed, client CPU per 1,000 items: cruddur / batch_writer = {cpu:.3f} (target ≤ 0.1: {verdict(cpu <= 0.1)})")
        busy = med("seed_cruddur", "moto") / med("seed_cruddur", "wall")
        add(f"- 5. the emulator was busy {busy * 100:.0f}% of cruddur's seed (one Python process: about 100% is its ceiling)")
    if "scan_cruddur_1" in heavy and "scan_aws_cli" in heavy:
        for name in ("scan_cruddur_1", "scan_cruddur_4"):
            wall = med("scan_aws_cli", "wall") / med(name, "wall")
            rss = med("scan_aws_cli", "rss") / med(name, "rss")
            add(f"- 6. scan to JSON lines, {name}: aws CLI / cruddur wall = {wall:.2f}×, peak RSS = {rss:.1f}×")
        rss_big = med("scan_cruddur_1", "rss") / 1024
        rss_mid = med("scan_cruddur_1_mid", "rss") / 1024
        add(f"- 6. cruddur's peak RSS scanning {heavy['scan_cruddur_1'][0]['items']:,} items: {rss_big:.1f} MB (target < 40 MB: {verdict(rss_big < 40)})")
        add(f"- 6. the same at {heavy['scan_cruddur_1_mid'][0]['items']:,} items: {rss_mid:.1f} MB; ratio {rss_big / rss_mid:.2f} (target ≤ 1.2: {verdict(rss_big / rss_mid <= 1.2)})")
    add("")
print("\n".join(lines))
