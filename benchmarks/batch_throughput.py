"""Batch-inference throughput and peak memory, one inference path per fresh subprocess.

Needs trained models in the BentoML store. With the real models (the Makefile keeps the store in
``.bentoml/``)::

    make train
    BENTOML_HOME=.bentoml .venv/bin/python benchmarks/batch_throughput.py \\
        --n 5000 --out runs/batch_throughput.json

Smoke run on the tiny random model (under a minute)::

    export BENTOML_HOME=$(mktemp -d) HF_HUB_OFFLINE=1
    .venv/bin/stanceframe train --config training/configs/tiny.yaml
    .venv/bin/stanceframe train --config training/configs/baseline.yaml
    .venv/bin/python benchmarks/batch_throughput.py --n 200 --transformer stanceframe-tiny \\
        --out /tmp/batch_throughput.json

Paths (``--n`` paragraphs built by repeating the texts of ``labels/corpus/**/*.jsonl``):

* ``torch``: the transformer predictor, batched and length-sorted (``Predictor.predict`` over
  windows of ``--window`` paragraphs, ``--batch-size`` per forward pass);
* ``torch-bf16``: the torch predictor under bfloat16 autocast;
* ``onnx``: the same predictor with ``backend="onnx"`` (encoder in onnxruntime, fp32; export on
  first use is load time);
* ``onnx-int8``: ``backend="onnx-int8"`` (weights quantised to int8 per channel);
* ``auto``: ``backend="auto"``, the fastest of torch, torch-bf16 and onnx measured at load time
  (:mod:`serving.predictors.probe`; its probe is part of ``load_s`` unless cached);
* ``baseline``: TF-IDF + logistic regression;
* ``naive``: a transformers ``pipeline("feature-extraction")`` over the same encoder, called once
  per paragraph, on the first ``--naive-n`` paragraphs. It runs the encoder only (no heads, no
  figure matching), so the speed-up of ``torch`` over it is a lower bound.

Each path runs in its own subprocess, so its peak RSS is its own: sampled by the parent with
psutil every 10 ms (``peak_rss_mb``) and read from the child's ``getrusage`` high-water mark
(``maxrss_mb``). Paragraphs/s excludes loading (``load_s``) and one warm-up call. Prints a
Markdown table; ``--out`` also gets the numbers as JSON.

**The bound.** The encoder's arithmetic per paragraph is counted from its config at the measured
mean length T: per layer ``2·T·(4·H² + 2·H·I)`` for the projections and feed-forward plus
``4·T²·H`` for attention (MiniLM-L6: H 384, I 1536, 6 layers). The CPU's roof is its theoretical
peak from ``/proc/cpuinfo``: cores x fp32 lanes (16 with AVX-512, 8 with AVX2) x 2 FMA units x 2
flops x clock, doubled for bf16 where AVX-512 BF16 exists and quadrupled for int8 where VNNI
does. Each transformer path's ``fraction`` is its paragraphs/s x FLOPs per paragraph / its roof.
The best of ten large torch GEMMs (fp32, bf16) is reported beside it as a sanity check: on a
shared virtual machine it moves from run to run.
``--quick`` runs 400 paragraphs of torch, auto, baseline and naive (under a minute).
``--quality`` also scores each predictor path, after its timing, on the seed gold and the
transfer set (frames and figure-sentiment macro-F1), so a faster path shows what it costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import serving/training

PATHS = ("torch", "torch-bf16", "onnx", "onnx-int8", "auto", "baseline", "naive")
QUICK_PATHS = "torch,auto,baseline,naive"
ROOF = {"torch": "fp32", "onnx": "fp32", "naive": "fp32", "torch-bf16": "bf16", "onnx-int8": "int8"}
"""Which arithmetic roof each path is measured against."""


def load_texts(n: int) -> list[str]:
    """``n`` paragraphs: the annotated corpus texts, repeated in a fixed order."""
    from training.data.corpus import iter_jsonl

    texts = [
        value["text"]
        for path in sorted((REPO / "labels" / "corpus").rglob("*.jsonl"))
        for _, value, error in iter_jsonl(path)
        if error is None and isinstance(value, dict) and isinstance(value.get("text"), str)
    ]
    if not texts:
        raise SystemExit("no texts under labels/corpus")
    return [texts[i % len(texts)] for i in range(n)]


def _predictor_path(path: str, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from serving.predictors.factory import load_predictor

    name = args.baseline if path == "baseline" else args.transformer
    started = time.perf_counter()
    predictor = load_predictor(name, backend="torch" if path == "baseline" else path)
    if hasattr(predictor, "batch_size"):
        predictor.batch_size = args.batch_size
    load_s = time.perf_counter() - started
    predictor.predict(texts[:8])  # warm-up: lazy allocations, onnxruntime's first run
    started = time.perf_counter()
    for s in range(0, len(texts), args.window):
        predictor.predict(texts[s : s + args.window])
    out = {"n": len(texts), "seconds": time.perf_counter() - started, "load_s": load_s}
    out["model_version"] = predictor.version
    if path == "auto":
        out["chosen"] = predictor.describe().get("backend")
        out["probe"] = predictor.describe().get("backend_probe")
    if args.quality:  # outside the timed part
        out["quality"] = quality(predictor)
    if path == "torch":  # tokens per paragraph, outside the timed part
        lengths = [len(ids) for ids in predictor.tokenizer(texts)["input_ids"]]
        out["mean_tokens"] = sum(lengths) / len(lengths)
        out["max_length"] = predictor.max_length
        config = predictor.model.encoder.config
        out["encoder"] = {
            "hidden": config.hidden_size,
            "intermediate": config.intermediate_size,
            "layers": config.num_hidden_layers,
        }
    return out


def quality(predictor: Any) -> dict[str, dict[str, float | None]]:
    """Frames and figure-sentiment macro-F1 of ``predictor`` on the seed gold and the transfer
    set of the training recipe's defaults (scored only: a speed path must not change what the
    model answers)."""
    from training.data.corpus import load_corpus
    from training.evaluation.scoring import evaluate_predictor, headline
    from training.fit.config import DataConfig

    data = DataConfig()
    out = {}
    for name, paths in (("gold", data.gold), ("transfer", data.transfer)):
        paragraphs = load_corpus([REPO / p for p in paths], predictor.schema)
        out[name] = {
            k: round(v, 4) for k, v in headline(evaluate_predictor(predictor, paragraphs)).items()
        }
    return out


def encoder_gflop(encoder: dict[str, int], tokens: float) -> float:
    """Multiply-add work of one encoder pass over ``tokens`` tokens, in GFLOP."""
    h, i, layers = encoder["hidden"], encoder["intermediate"], encoder["layers"]
    per_layer = 2 * tokens * (4 * h * h + 2 * h * i) + 4 * tokens * tokens * h
    return layers * per_layer / 1e9


def measured_roof(size: int = 2048, repeats: int = 10) -> dict[str, float]:
    """GFLOP/s of the best of ``repeats`` square GEMMs, fp32 and bf16, on all torch threads."""
    import torch

    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(size, size, dtype=dtype)
        b = torch.randn(size, size, dtype=dtype)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - started)
        out[name] = round(2 * size**3 / best / 1e9, 1)
    return out


def theoretical_roof() -> dict[str, Any]:
    """Peak fp32 GFLOP/s from the CPU flags and clock, assuming two FMA units per core."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
    mhz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    lanes = 16 if " avx512f" in flags else 8 if " avx2" in flags else 4
    cores = os.cpu_count() or 1
    ghz = (max(mhz) / 1000) if mhz else 0.0
    fp32 = cores * lanes * 2 * 2 * ghz
    bf16 = 2 if " avx512_bf16" in flags or " amx_bf16" in flags else 1
    int8 = 4 if " avx512_vnni" in flags or " avx_vnni" in flags else 1
    return {
        "fp32_gflops": round(fp32, 1),
        "bf16_gflops": round(fp32 * bf16, 1),
        "int8_gops": round(fp32 * int8, 1),
        "assumes": f"{cores} cores x {lanes} fp32 lanes x 2 FMA units x 2 flops x {ghz:.2f} GHz",
        "flags": [
            f
            for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
            if f" {f}" in flags
        ],
    }


def _naive_path(texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    from serving.store import find_model

    hf_logging.set_verbosity_error()
    started = time.perf_counter()
    folder, info = find_model(args.transformer)
    pipe = pipeline(
        "feature-extraction",
        model=str(folder / "encoder"),
        tokenizer=str(folder / "tokenizer"),
        device="cpu",
    )
    load_s = time.perf_counter() - started
    tokenize = {"truncation": True, "max_length": int(info.setting("transformer", "max_length"))}
    subset = texts[: args.naive_n]
    pipe(subset[0], tokenize_kwargs=tokenize)  # warm-up
    started = time.perf_counter()
    for text in subset:
        pipe(text, tokenize_kwargs=tokenize)
    return {"n": len(subset), "seconds": time.perf_counter() - started, "load_s": load_s}


def child(path: str, args: argparse.Namespace) -> None:
    """Measure one path in this process; print its numbers as one JSON line."""
    import torch

    texts = load_texts(args.n)
    out = _naive_path(texts, args) if path == "naive" else _predictor_path(path, texts, args)
    out["paragraphs_per_s"] = out["n"] / out["seconds"] if out["seconds"] > 0 else 0.0
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out["torch_threads"] = torch.get_num_threads()
    print(json.dumps(out))


def run_path(path: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one path in a fresh subprocess, sampling its RSS; its JSON line plus the peak."""
    import psutil

    cmd = [sys.executable, __file__, "--child", path, *_forwarded(args)]
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.Error:  # exited between poll and sample
            break
        time.sleep(0.01)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"path {path} failed:\n{stderr[-3000:]}")
    out = json.loads(stdout.strip().splitlines()[-1])
    out["peak_rss_mb"] = peak / 1024**2
    return out


def _forwarded(args: argparse.Namespace) -> list[str]:
    keys = ("n", "naive_n", "batch_size", "window", "transformer", "baseline")
    flags = ["--quality"] if args.quality else []
    return flags + [x for k in keys for x in (f"--{k.replace('_', '-')}", str(getattr(args, k)))]


def markdown(results: dict[str, dict[str, Any]], summary: dict[str, Any]) -> str:
    """The results table and the headline ratios."""
    lines = [
        "| path | paragraphs | seconds | paragraphs/s | bound /s | fraction | peak RSS (MB) "
        "| load (s) | gold frames / sentiment F1 | transfer frames / sentiment F1 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for path, r in results.items():
        name = f"{path} ({r['chosen']})" if r.get("chosen") else path
        bound = r.get("bound_paragraphs_per_s")
        fraction = r.get("fraction_of_bound")
        lines.append(
            f"| {name} | {r['n']} | {r['seconds']:.2f} | {r['paragraphs_per_s']:.1f} "
            f"| {bound if bound is not None else ''} "
            f"| {f'{fraction:.2f}' if fraction is not None else ''} "
            f"| {r['peak_rss_mb']:.0f} | {r['load_s']:.1f} "
            f"| {_quality_cell(r, 'gold')} | {_quality_cell(r, 'transfer')} |"
        )
    lines.append("")
    b = summary.get("bound", {})
    if b.get("gflop_per_paragraph"):
        lines.append(
            f"encoder work: {b['gflop_per_paragraph']} GFLOP per paragraph; roof fp32 "
            f"{b['theoretical'].get('fp32_gflops')}, bf16 {b['theoretical'].get('bf16_gflops')}, "
            f"int8 {b['theoretical'].get('int8_gops')} G/s ({b['theoretical'].get('assumes')}); "
            f"best torch GEMM {b['measured_gemm_gflops']} GFLOP/s"
        )
    if summary.get("mean_tokens") is not None:
        lines.append(
            f"mean tokens per paragraph: {summary['mean_tokens']:.1f} "
            f"(windows of {summary['max_length']} tokens)"
        )
    for name, value in summary["ratios"].items():
        lines.append(f"{name}: {value:.2f}x")
    return "\n".join(lines)


def _quality_cell(result: dict[str, Any], name: str) -> str:
    q = result.get("quality", {}).get(name)
    if not q:
        return ""
    return " / ".join(
        f"{v:.3f}" if v is not None else "-"
        for v in (q["frames_macro_f1"], q["sentiment_macro_f1"])
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="paragraphs per batched path")
    parser.add_argument("--naive-n", type=int, default=300, help="paragraphs for the naive loop")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--window", type=int, default=2048, help="paragraphs per predict call")
    parser.add_argument("--transformer", default="transformer", help="model kind, name or tag")
    parser.add_argument("--baseline", default="baseline", help="model kind, name or tag")
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="400 paragraphs, four paths")
    parser.add_argument(
        "--quality",
        action="store_true",
        help="also score each path on the seed gold and the transfer set (frames, sentiment F1)",
    )
    parser.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args)
        return
    if args.quick:
        args.n, args.naive_n = 400, 50
        if args.paths == ",".join(PATHS):
            args.paths = QUICK_PATHS
    results = {}
    for path in args.paths.split(","):
        print(f"running {path} ...", file=sys.stderr, flush=True)
        results[path] = run_path(path, args)
    rate = {p: r["paragraphs_per_s"] for p, r in results.items()}
    ratios = {}
    if "torch" in rate and "naive" in rate:
        ratios["torch batched vs naive per-paragraph pipeline"] = rate["torch"] / rate["naive"]
    for fast in ("torch-bf16", "onnx", "onnx-int8"):
        if "torch" in rate and fast in rate:
            ratios[f"{fast} vs torch"] = rate[fast] / rate["torch"]
        if "naive" in rate and fast in rate:
            ratios[f"{fast} vs naive per-paragraph pipeline"] = rate[fast] / rate["naive"]
    if "torch" in rate and "baseline" in rate:
        ratios["baseline vs torch"] = rate["baseline"] / rate["torch"]
    torch_result = results.get("torch", {})
    theory = theoretical_roof()
    roof = {
        "fp32": theory.get("fp32_gflops", 0.0),
        "bf16": theory.get("bf16_gflops", 0.0),
        "int8": theory.get("int8_gops", 0.0),
    }
    bound = {"theoretical": theory, "measured_gemm_gflops": measured_roof()}
    if torch_result.get("encoder") and torch_result.get("mean_tokens"):
        gflop = encoder_gflop(torch_result["encoder"], torch_result["mean_tokens"])
        bound["gflop_per_paragraph"] = round(gflop, 3)
        for path, r in results.items():
            kind = ROOF.get(r.get("chosen", "").replace("-fp32", "") if path == "auto" else path)
            if kind and roof[kind]:
                r["bound_paragraphs_per_s"] = round(roof[kind] / gflop, 1)
                r["fraction_of_bound"] = round(
                    r["paragraphs_per_s"] / r["bound_paragraphs_per_s"], 3
                )
    summary = {
        "n": args.n,
        "batch_size": args.batch_size,
        "window": args.window,
        "mean_tokens": torch_result.get("mean_tokens"),
        "max_length": torch_result.get("max_length"),
        "ratios": ratios,
        "bound": bound,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "results": results,
    }
    print(markdown(results, summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
