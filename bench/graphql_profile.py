"""CPU profile of the API answering the benchmark query (bench/graphql_bench.py) under load.

    GRIDLINK_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/graphql_profile.py [--database gl_bench_big] [--duration 10]

Runs on a database graphql_bench.py made (its big data set; run it first), with a fresh token.
The API is one uvicorn process sampled by py-spy (``pip install py-spy``) while ``wrk -t1 -c16``
sends the query; prints the functions with the most samples, on their own (self) and with
what they call (total), as shares of all samples of the process."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.graphql_bench import QUERY, Server, database_url, prepare, wrk  # noqa: E402


def _frame(text: str) -> str:
    """ "function (path/to/file.py:line)" as "function file.py:line"."""
    return text.split(" (")[0] + " " + text.rsplit("/", 1)[-1].rstrip(")")


def summarise(raw: Path, top: int) -> str:
    """py-spy's collapsed stacks ("frame;frame;... count") as two top lists."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "", "self:"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "total (with callees):"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in total.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="gl_bench_big")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--port", type=int, default=18741)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    base = os.environ.get("GRIDLINK_BENCH_POSTGRES_URL")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not base or not shutil.which("wrk") or not Path(spy).exists():
        print("needs GRIDLINK_BENCH_POSTGRES_URL, wrk and py-spy", file=sys.stderr)
        return 2
    url = database_url(base, args.database)
    info = asyncio.run(prepare(url, None, fresh=False))
    env = {
        "GRIDLINK_DATABASE_URL": url,
        "GRIDLINK_ENV": "production",
        "GRIDLINK_RUN_WORKER_IN_PROCESS": "false",
    }
    api = Server("api.edge.app:create_app", env, args.port)
    raw = args.raw or Path(tempfile.mkdtemp()) / "profile.txt"
    try:
        api.wait("/healthz")
        body = json.dumps({"query": QUERY})
        headers = {"content-type": "application/json", "authorization": f"Bearer {info['token']}"}
        target = f"http://127.0.0.1:{args.port}/graphql"
        wrk(target, body, headers, 2)  # warm-up: the plan is learned
        spy_run = subprocess.Popen(
            [spy, "record", "--pid", str(api.process.pid), "--format", "raw", "--rate", "250",
             "--duration", str(args.duration + 1), "--output", str(raw), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        rps, cpu = wrk(target, body, headers, args.duration, api)
        spy_run.wait(timeout=60)
    finally:
        api.stop()
    print(f"{rps:,.0f} req/s, {cpu:.2f} CPU ms/request (under py-spy)")
    print(summarise(raw, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
