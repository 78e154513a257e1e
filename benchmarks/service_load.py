"""Load test of the real HTTP service (``bentoml serve`` on localhost).

Needs trained models in the BentoML store (``make train`` first)::

    BENTOML_HOME=.bentoml .venv/bin/python benchmarks/service_load.py --out runs/service_load.json

For each server mode it starts a fresh ``bentoml serve`` on a free localhost port, warms it up,
then sends requests of one paragraph each (texts cycled from ``labels/corpus``) at concurrency 1,
8 and 32, a bounded number of requests per level (``--requests``, at least 4 x concurrency), and
records throughput (answered requests per second), p50/p99 latency and errors. Modes:

* ``batching-on``: concurrent requests merged into one transformer call
  (``serving/batcher.py``; the default service);
* ``batching-off``: ``STANCEFRAME_BATCHING=0``;
* ``transformer-failing``: batching on, ``STANCEFRAME_FAIL_TRANSFORMER=predict``: every batch must
  be answered by the baseline (checked: ``fallback_share`` must be 1.0).

Traffic goes only to 127.0.0.1; every loop is bounded in count and time. Prints a Markdown table and
the batching-on/off throughput ratio at each concurrency; ``--out`` gets the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import time
from pathlib import Path

import httpx

from training.up import start_server

REPO = Path(__file__).resolve().parents[1]
MODES = {
    "batching-on": {"STANCEFRAME_BATCHING": "1"},
    "batching-off": {"STANCEFRAME_BATCHING": "0"},
    "transformer-failing": {"STANCEFRAME_BATCHING": "1", "STANCEFRAME_FAIL_TRANSFORMER": "predict"},
}


def corpus_texts(limit: int = 2000) -> list[str]:
    texts = []
    for path in sorted((REPO / "labels" / "corpus").rglob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts.extend(json.loads(line)["text"] for line in fh if line.strip())
    return texts[:limit]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_level(
    url: str, texts: list[str], concurrency: int, n_requests: int, time_limit_s: float
) -> dict:
    """Send ``n_requests`` one-paragraph requests with ``concurrency`` in flight."""
    latencies: list[float] = []
    errors = 0
    fallback = 0
    counter = iter(range(n_requests))
    deadline = time.perf_counter() + time_limit_s

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, fallback
        for i in counter:
            if time.perf_counter() > deadline:
                return
            body = {"paragraphs": [{"id": str(i), "text": texts[i % len(texts)]}]}
            start = time.perf_counter()
            try:
                resp = await client.post(f"{url}/classify", json=body)
                ok = resp.status_code == 200
                if ok:
                    fallback += resp.json()[0]["model"] == "baseline"
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    limits = httpx.Limits(max_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    lat = sorted(latencies)
    return {
        "concurrency": concurrency,
        "requests": len(lat),
        "errors": errors,
        "throughput_rps": round(len(lat) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(lat), 1),
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
        "fallback_share": round(fallback / max(1, len(lat) - errors), 3),
    }


def bench_mode(
    name: str, env: dict, texts: list[str], levels: list[int], requests: int, time_limit_s: float
) -> list[dict]:
    proc, url = start_server(free_port(), {**os.environ, **env}, quiet=True)
    try:
        asyncio.run(run_level(url, texts, 4, 40, 60))  # warm-up: first batches, lazy imports
        rows = []
        for c in levels:
            n = max(requests, 4 * c)
            row = asyncio.run(run_level(url, texts, c, n, time_limit_s))
            rows.append({"mode": name, **row})
            print(json.dumps(rows[-1]), flush=True)
        return rows
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=400, help="requests per level")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per level, at most")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    texts = corpus_texts()
    rows = []
    for mode in args.modes:
        rows += bench_mode(mode, MODES[mode], texts, args.levels, args.requests, args.time_limit)
    print("\n| mode | concurrency | requests | errors | req/s | p50 ms | p99 ms | baseline share |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['mode']} | {r['concurrency']} | {r['requests']} | {r['errors']} | "
            f"{r['throughput_rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['fallback_share']} |"
        )
    by = {(r["mode"], r["concurrency"]): r for r in rows}
    ratios = {
        c: round(
            by[("batching-on", c)]["throughput_rps"] / by[("batching-off", c)]["throughput_rps"], 2
        )
        for c in args.levels
        if ("batching-on", c) in by and ("batching-off", c) in by
    }
    print(f"\nbatching on/off throughput ratio by concurrency: {ratios}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "machine": f"{platform.node()} {os.cpu_count()} CPUs {platform.machine()}",
                    "rows": rows,
                    "ratio_on_off": ratios,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
