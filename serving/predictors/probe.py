"""``backend="auto"``: the fastest transformer backend on this machine, chosen by measurement.

A CPU flag says which instructions exist, not which path is fast: on a 2-core Xeon with AVX-512
BF16, bf16 autocast ran at two thirds of plain fp32 (measured in the issue that asked for this),
while on the dev machine's AMD EPYC it runs at 2.2x (README, batch labelling throughput). So
``auto`` times each candidate (``torch`` fp32, ``torch-bf16``, and ``onnx`` fp32 when onnxruntime
is installed; never int8, which changes scores) on the same fixed paragraphs, after a warm-up, at
the caller's batch size, and keeps the fastest. A candidate must beat plain fp32 torch to be
chosen, so ``auto`` is never slower than fp32 in the probe's own measurement. The choice and its
numbers are logged, cached per machine, model, thread count, batch size and library versions in
``$XDG_CACHE_HOME/stanceframe/backend-probe.json``, and shown by ``describe()`` (so by
``GET /model``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from serving.model_info import ModelInfo

log = logging.getLogger("stanceframe.predictors")

CANDIDATES = ("torch", "torch-bf16", "onnx")
PROBE_TEXTS = (
    "The party lost a seat it had held for decades, and the count in the leisure centre ran past "
    "midnight while volunteers waited for a result they had expected since the exit poll.",
    "Senior figures said the leader's office had ignored repeated warnings from candidates about "
    "what they were hearing on the doorstep, and that the campaign had been run from headquarters "
    "by a small circle of aides who rarely left the capital and trusted their own models over the "
    "reports of people in the seats.",
    "Turnout fell in every ward, and the swing was largest in the towns.",
    "Organisers in the region defended their volunteers, who they said had knocked on more doors "
    "than in any previous election, and rejected claims that the local team was to blame for a "
    "national collapse.",
    "A councillor said the party now spoke for graduates in the capital rather than for the towns "
    "it was founded to represent, and that voters had noticed long before the election was called.",
    "The result was declared at four in the morning, after a recount requested by the losing "
    "candidate, who later said she would not stand again.",
)
"""Invented paragraphs of the corpus's range of lengths (the probe must not need the corpus)."""
PROBE_SIZE = 48
REPEATS = 2


def cache_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "stanceframe" / "backend-probe.json"


def probe_key(info: ModelInfo, threads: int, batch_size: int | None = None) -> str:
    """What a measurement depends on: model, CPU, threads, batch size and the libraries."""
    versions = []
    for pkg in ("torch", "onnxruntime"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} absent")
    batch = f"batch {batch_size}" if batch_size else "default batch"
    return " | ".join([info.tag, cpu_model(), f"{threads} threads", batch, *versions])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def paragraphs_per_second(predictor: Any, texts: list[str]) -> float:
    """Best of ``REPEATS`` timed ``predict`` calls after one warm-up call."""
    predictor.predict(texts[:8])
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        predictor.predict(texts)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def read_cache() -> dict[str, Any]:
    try:
        return json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_cache(key: str, entry: dict[str, Any]) -> None:
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**read_cache(), key: entry}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a read-only home only costs a probe at the next start
        log.warning("backend probe result not cached (%s): %s", path, exc)


def choose(
    info: ModelInfo,
    threads: int,
    load: Any,
    candidates: tuple[str, ...] = CANDIDATES,
    batch_size: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The fastest candidate's predictor and the probe record (``chosen``, ``rates``, ``key``,
    ``cached``). ``load(backend)`` returns a predictor for a backend or raises ImportError.
    ``batch_size``: paragraphs per forward pass in the timing, as the caller will run them (the
    service's small batches favour another backend than batch labelling's large ones)."""
    key = probe_key(info, threads, batch_size)
    cached = read_cache().get(key)
    if cached and cached.get("chosen") in candidates:
        record = {**cached, "key": key, "cached": True}
        log.info("backend auto -> %s (cached probe: %s)", record["chosen"], record["rates"])
        return load(record["chosen"]), record
    texts = [PROBE_TEXTS[i % len(PROBE_TEXTS)] for i in range(PROBE_SIZE)]
    rates: dict[str, float] = {}
    predictors: dict[str, Any] = {}
    for backend in candidates:
        try:
            predictors[backend] = load(backend)
        except ImportError as exc:
            log.info("backend probe: %s unavailable (%s)", backend, exc)
            continue
        if batch_size and hasattr(predictors[backend], "batch_size"):
            predictors[backend].batch_size = batch_size
        rates[backend] = round(paragraphs_per_second(predictors[backend], texts), 1)
    chosen = max(rates, key=rates.get)
    if "torch" in rates and rates[chosen] <= rates["torch"]:
        chosen = "torch"
    record = {
        "chosen": chosen,
        "rates": rates,
        "probe_paragraphs": len(texts),
        "batch_size": batch_size,
    }
    write_cache(key, record)
    log.info("backend auto -> %s (probe, paragraphs/s: %s)", chosen, rates)
    return predictors[chosen], {**record, "key": key, "cached": False}
