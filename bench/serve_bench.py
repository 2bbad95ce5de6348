"""Local DynamoDB servers side by side: how fast each is ready, how much memory it holds, and
how fast it takes writes on a streamed table as the table is used.

Usage: serve_bench.py --cruddur BIN --out FILE.tsv [--moto CMD] [--dynalite CMD] [--items N]

Each server is started on a free loopback port, timed from the start to its first successful
ListTables, measured idle (resident memory), then written to by `cruddur ddb seed` (the same
client for every server) on a table with a NEW_IMAGE stream: a first batch on the fresh table,
then N items, then the same batch again. The last batch against the first says how the server
holds up as a streamed table grows. Rows: server, metric, value, unit.
"""

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def list_tables(url):
    request = urllib.request.Request(
        url,
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            "X-Amz-Date": "20260101T000000Z",
        },
    )
    with urllib.request.urlopen(request, timeout=1) as answer:
        return answer.status == 200


def rss_kb(pid):
    """Resident memory of a process and its children (a wrapper script, node, java)."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return total


def fixture(path, count):
    words = "the tide the crab sandwich the chain the brakes the lighthouse".split()
    with open(path, "w") as f:
        for i in range(count):
            f.write(f"Person {i % 2 + 1}: message {i} about {' '.join(words[i % 5:i % 5 + 4])}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cruddur", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--moto")
    parser.add_argument("--dynalite")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="serve-bench.")
    small, big = os.path.join(work, "small.txt"), os.path.join(work, "big.txt")
    fixture(small, args.batch)
    fixture(big, args.items)
    # name, command, whether it has DynamoDB Streams (dynalite has none: its table gets no
    # stream and no worker, which flatters it).
    servers = [("cruddur ddb serve", f"{shlex.quote(args.cruddur)} ddb serve --data {work}/ddb.sqlite --port {{port}} -q", True)]
    if args.moto:
        servers.append(("moto server", f"{args.moto} -H 127.0.0.1 -p {{port}}", True))
    if args.dynalite:
        servers.append(("dynalite (no streams)", f"{args.dynalite} --port {{port}}", False))
    rows = []
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
    for name, command, streams in servers:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        server = subprocess.Popen(command.format(port=port), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        ready = None
        while time.monotonic() - started < 60:
            try:
                if list_tables(url):
                    ready = time.monotonic() - started
                    break
            except OSError:
                time.sleep(0.002)
        if ready is None:
            print(f"{name} was not ready in 60 s", file=sys.stderr)
            os.killpg(server.pid, 15)
            continue
        time.sleep(1)
        rows.append((name, "ready", f"{ready * 1000:.1f}", "ms"))
        rows.append((name, "rss_idle", f"{rss_kb(server.pid) / 1024:.1f}", "MB"))
        run_env = dict(env, AWS_ENDPOINT_URL=url)
        cruddur = args.cruddur
        load = [cruddur, "ddb", "schema-load", "--if-not-exists", "-q"] + ([] if streams else ["--no-stream"])
        subprocess.run(load, env=run_env, check=True, stdout=subprocess.DEVNULL)
        # The stream worker: cruddur's own in ddb serve; for the others, `cruddur ddb stream`
        # beside them, as a workspace would run it.
        worker = None
        if streams and not name.startswith("cruddur"):
            worker = subprocess.Popen([cruddur, "ddb", "stream", "-q"], env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def seed(path, group):
            t = time.monotonic()
            subprocess.run([cruddur, "ddb", "seed", "--fixture", path, "--message-group-uuid", group, "--now", "2026-01-01T12:00:00Z", "-q"], env=run_env, check=True, stdout=subprocess.DEVNULL)
            return time.monotonic() - t

        first = seed(small, "00000000-0000-4000-8000-000000000001")
        bulk = seed(big, "00000000-0000-4000-8000-000000000002")
        after = seed(small, "00000000-0000-4000-8000-000000000003")
        rows.append((name, "writes_fresh", f"{args.batch / first:.0f}", "items/s"))
        rows.append((name, f"writes_bulk_{args.items}", f"{args.items / bulk:.0f}", "items/s"))
        rows.append((name, "writes_after_bulk", f"{args.batch / after:.0f}", "items/s"))
        rows.append((name, "after_bulk_vs_fresh", f"{after / first:.2f}", "x time"))
        rows.append((name, f"rss_after_{args.items}", f"{rss_kb(server.pid) / 1024:.1f}", "MB"))
        if worker:
            worker.terminate()
            worker.wait()
        os.killpg(server.pid, 15)
        server.wait()
        for row in [r for r in rows if r[0] == name]:
            print("\t".join(row), file=sys.stderr)
    with open(args.out, "w") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
