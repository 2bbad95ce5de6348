"""Sections 7 (install), 8 (the release profile) and 9 (pull) of BENCHMARKS.md, from what scripts/bench
measured into OUT, spliced into BENCHMARKS.md in place: the other sections are left as the
run that wrote them left them, so `scripts/bench --install`, `--wheel` and `--profiles` can be
rerun alone (`--wheel` keeps section 7's cargo install rows), and `--pull` too.
Usage: python3 bench/install_report.py OUT BENCHMARKS.md
"""

import datetime
import os
import re
import statistics
import sys

out, target = sys.argv[1], sys.argv[2]


def read(name):
    path = os.path.join(out, name)
    return open(path).read().strip() if os.path.exists(path) else None


def mb(size):
    return f"{int(size) / 1e6:.1f} MB"


def when():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def install_section():
    pip = [float(x) for x in (read("wheel_pip_seconds") or "").split()]
    if not pip:
        return None
    venv = [float(x) for x in read("wheel_venv_seconds").split()]
    lines = [
        "## 7. Install",
        "",
        "What a user waits for before `cruddur` is on PATH, side by side in one run on this machine",
        f"({when()}; {os.cpu_count()} cores). The wheel is the one `scripts/dist` built (maturin with zig,",
        "manylinux2014); `pip install --no-index` of the file into a fresh virtual environment, the",
        f"median of {len(pip)} (each its own new environment); the cargo installs from an empty target",
        "folder, with the registry already downloaded.",
        "",
        "| install | time | binary | notes |",
        "|---|---|---|---|",
        f"| `pip install` of the wheel | {statistics.median(pip):.2f} s | {mb(read('wheel_binary_size'))} "
        f"| wheel {mb(read('wheel_size'))}; the venv itself {statistics.median(venv):.2f} s |",
    ]
    for kind, flags in [("full", ""), ("lean", " --no-default-features")]:
        timed = read(f"install_time_{kind}")
        if not timed:
            # `--wheel` measured only the wheel: the cargo installs' rows stay as they were.
            kept = re.search(rf"^\| `cargo install --locked{flags} --path \.` \|.*$", old_text, re.M)
            if kept:
                row = kept.group(0)
                lines.append(row if "an earlier run" in row else row[: -len(" |")] + "; measured in an earlier run |")
        if timed:
            seconds, kb = timed.split()
            seconds = float(seconds)
            what = "every default feature" if not flags else "without EC2, Cognito and ddb serve"
            lines.append(f"| `cargo install --locked{flags} --path .` | {seconds / 60:.1f} min ({seconds:.0f} s) "
                         f"| {mb(read(f'install_size_{kind}'))} | compiles {what}; peak memory {int(kb) / 1e6:.1f} GB |")
    lines += [
        "",
        "### Targets",
        "",
    ]
    median = statistics.median(pip)
    lines.append(f"- under 10 s from the wheel: {median:.2f} s — {'met' if median < 10 else '**not met**'}")
    glibc = read("wheel_glibc")
    if glibc:
        lines.append(f"- the wheel's tag and the glibc it needs: `{read('wheel_name')}`; the binary's newest "
                     f"glibc symbol is {glibc}, so it runs on glibc {glibc.removeprefix('GLIBC_')} or newer "
                     "(CentOS 7, Debian 8, Ubuntu 14.04 and every later one)")
    size = int(read("wheel_binary_size"))
    lines.append(f"- a binary of at most 14 MB with `ddb serve`: {mb(size)} — {'met' if size <= 14e6 else '**not met**'}")
    lines.append("")
    return "\n".join(lines)


def profiles_section():
    rows = read("profiles.tsv")
    if not rows:
        return None
    lines = [
        "## 8. The release profile: size against build time",
        "",
        "Clean release builds of every default feature (`ddb serve` included), one at a time, each in",
        f"an empty target folder of its own, on this machine ({when()}; {os.cpu_count()} cores). Every variant",
        "keeps the rest of `[profile.release]` (`strip`, `panic = \"abort\"`, the EC2 and Cognito",
        "SDK crates at `opt-level = 0`, serde_json at 3); peak memory is the largest",
        "single process's. What ships is section 7's wheel: the `dist` profile, linked by zig for",
        "glibc 2.17.",
        "",
        "| variant | build | peak memory | binary |",
        "|---|---|---|---|",
    ]
    release, dist = profile("release", "s"), profile("dist", profile("release", "s")[0])
    for line in rows.splitlines():
        # opt-level, lto, codegen-units, seconds, peak KB ("-": not measured), bytes[, how]
        opt, lto, units, seconds, kb, size, *how = line.split("\t")
        mark = {release: " (the release profile: `cargo install`)", dist: " (the `dist` profile: what ships)"}.get((opt, lto, units), "")
        peak = "—" if kb == "-" else f"{int(kb) / 1e6:.1f} GB"
        how = f"; {how[0]}" if how else ""
        lines.append(f"| `opt-level = \"{opt}\"`, `lto = {lto}`, `codegen-units = {units}`{mark}{how} | "
                     f"{float(seconds) / 60:.1f} min ({float(seconds):.0f} s) | {peak} | {mb(size)} |")
    lines.append("")
    return "\n".join(lines)


def pull_section():
    import json
    path = os.path.join(out, "pull.json")
    if not os.path.exists(path):
        return None
    results = json.load(open(path))["results"]
    rows = int(read("pull_rows"))
    ours, theirs = results[0], results[1]
    lines = [
        "## 9. Pull: production's rows into the local database",
        "",
        f"`cruddur pull --no-dynamodb` against `pg_dump -a | psql -1`, side by side in one run on this machine",
        f"({when()}; {os.cpu_count()} cores; hyperfine, the median of {len(ours['times'])} runs), on the same data:",
        f"2,000 users and {rows:,} activities in a \"production\" database of the same local server. Both",
        "move the rows with COPY in one transaction; cruddur also reads them in one read-only snapshot,",
        "masks every personal column (names, emails, Cognito ids, the messages) row by row, and checks",
        "the local shape first. `pg_dump` copies them as they are.",
        "",
        "| command | median | min | max |",
        "|---|---|---|---|",
    ]
    for r in results:
        command = r["command"].replace("|", "\\|")
        lines.append(f"| `{command}` | {r['median']:.2f} s | {min(r['times']):.2f} s | {max(r['times']):.2f} s |")
    ratio = ours["median"] / theirs["median"]
    lines += [
        "",
        f"cruddur takes {ratio:.2f}× the time of `pg_dump | psql`, with the masking included.",
        "",
        "What bounds it: `pull` reads and masks everything before its plan is made (the plan is",
        "exactly what is written, and production is only read inside one snapshot), then writes; so",
        "its two halves follow each other, while `pg_dump | psql` reads and writes at once, in two",
        "processes. On this data the reading and masking (what `pull --dry-run` does) took about a",
        "third of the time, masking spread over the cores; HMAC-SHA256 starts from the key's",
        "precomputed state, so each value costs only its own blocks. The rest is the local",
        "TRUNCATE, COPY and commit, the same work `psql` does.",
        "",
    ]
    return "\n".join(lines)


def profile(name, opt_default):
    """Cargo.toml's [profile.NAME] opt-level, lto and codegen-units, as the variants name them
    (a custom profile takes what it does not set from the release profile's defaults)."""
    text = open(os.path.join(os.path.dirname(target) or ".", "Cargo.toml")).read()
    table = re.search(rf"^\[profile\.{name}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M).group(1)
    opt = re.search(r'^opt-level = "?(\w+)"?', table, re.M)
    lto = re.search(r'^lto = "?(\w+)"?', table, re.M)
    units = re.search(r"^codegen-units = (\d+)", table, re.M)
    return (opt.group(1) if opt else opt_default, lto.group(1) if lto else "false", units.group(1) if units else "16")


text = old_text = open(target).read()
for number, section in [(7, install_section()), (8, profiles_section()), (9, pull_section())]:
    if section is None:
        continue
    pattern = re.compile(rf"^## {number}\. .*?(?=^## |\Z)", re.S | re.M)
    later = re.search(rf"^## {number + 1}\. ", text, re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    elif later:
        # In its place, before the section after it.
        text = text[: later.start()] + section + "\n" + text[later.start():]
    else:
        text = text.rstrip("\n") + "\n\n" + section
text = text.rstrip("\n") + "\n"
with open(target, "w") as f:
    f.write(text)
