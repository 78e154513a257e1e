"""Soak test of the real HTTP service: sustained load while the ``slow`` drill switches on and off.

Off by default in CI (it runs for minutes). Needs trained models in the store (``make train``)::

    BENTOML_HOME=.bentoml .venv/bin/python benchmarks/soak.py --minutes 10 --out runs/soak.json

Starts ``bentoml serve`` on a free localhost port with ``STANCEFRAME_DRILL_FILE`` set, sends
one-paragraph requests at ``--concurrency`` (32) for ``--minutes``, and every ``--switch-s`` seconds
writes ``slow`` (2 s per transformer batch) or nothing into the drill file. Samples the server's
resident memory (the process tree) every 5 s. Reports errors (target 0), p50/p99 latency overall
and per drill phase, the share answered by the baseline, and memory growth from the first sample
after warm-up to the last (target under 10 %).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from service_load import corpus_texts, free_port  # sibling script (run as a script)

from training.up import start_server


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (BentoML runs workers as children)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


async def soak(url: str, pid: int, drill: Path, args: argparse.Namespace) -> dict:
    texts = corpus_texts()
    end = time.monotonic() + args.minutes * 60
    records: list[tuple[str, float, int, str]] = []  # phase, latency s, status, model
    phase = {"now": "off"}
    memory: list[tuple[float, int]] = []

    async def worker(client: httpx.AsyncClient, k: int) -> None:
        i = k
        while time.monotonic() < end:
            body = {"paragraphs": [{"id": str(i), "text": texts[i % len(texts)]}]}
            started, current = time.monotonic(), phase["now"]
            try:
                r = await client.post(f"{url}/classify", json=body, timeout=60)
                model = r.json()[0]["model"] if r.status_code == 200 else ""
                records.append((current, time.monotonic() - started, r.status_code, model))
            except httpx.HTTPError as exc:
                records.append((current, time.monotonic() - started, 0, type(exc).__name__))
            i += args.concurrency

    async def switcher() -> None:
        on = False
        while time.monotonic() < end:
            await asyncio.sleep(min(args.switch_s, max(0.0, end - time.monotonic())))
            on = not on
            drill.write_text("slow" if on else "", encoding="utf-8")
            phase["now"] = "slow" if on else "off"

    async def sampler() -> None:
        while time.monotonic() < end:
            memory.append((time.monotonic(), tree_rss(pid)))
            await asyncio.sleep(5)

    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        await asyncio.gather(
            switcher(), sampler(), *(worker(client, k) for k in range(args.concurrency))
        )
    return summarise(records, memory, args)


def _p(values: list[float], q: float) -> float:
    return round(1000 * statistics.quantiles(values, n=100)[q - 1], 1) if len(values) > 1 else 0.0


def summarise(records: list, memory: list, args: argparse.Namespace) -> dict:
    out: dict = {"minutes": args.minutes, "concurrency": args.concurrency, "phases": {}}
    for name in ("all", "off", "slow"):
        rows = [r for r in records if name == "all" or r[0] == name]
        lat = [r[1] for r in rows]
        out["phases"][name] = {
            "requests": len(rows),
            "errors": sum(1 for r in rows if r[2] != 200),
            "p50_ms": _p(lat, 50),
            "p99_ms": _p(lat, 99),
            "baseline_share": round(
                sum(1 for r in rows if r[3] == "baseline") / max(1, len(rows)), 3
            ),
        }
    warm = [m for t, m in memory if t - memory[0][0] >= 30] or [m for _, m in memory]
    out["rss_first_mb"] = round(warm[0] / 2**20, 1)
    out["rss_last_mb"] = round(warm[-1] / 2**20, 1)
    out["rss_growth"] = round(warm[-1] / warm[0] - 1, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--switch-s", type=float, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    drill = Path(tempfile.mkdtemp(prefix="stanceframe-drill-")) / "drill"
    drill.write_text("", encoding="utf-8")
    env = {**os.environ, "STANCEFRAME_DRILL_FILE": str(drill)}
    proc, url = start_server(free_port(), env, quiet=True)
    try:
        result = asyncio.run(soak(url, proc.pid, drill, args))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
