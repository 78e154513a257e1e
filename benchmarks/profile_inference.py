"""Where a labelling path's time goes: its stages, the encoder's operators, and padding.

    BENTOML_HOME=.bentoml .venv/bin/python benchmarks/profile_inference.py \\
        --model stanceframe-transformer --backend torch-bf16 --n 1000 --out runs/profile.json

Three measurements of ``Predictor.predict`` on ``--n`` corpus paragraphs, in windows of
``--window`` as ``stanceframe label`` calls it:

* **wall**: the plain run, no profiler;
* **stages** (``cProfile``, cumulative time of the function that implements each stage): figure
  matching (``FigureRegistry.first_mentions``), tokenization and windowing
  (``serving.model.encode``), the network (encoder and heads: the model's ``forward``,
  onnxruntime's run inside it), or the baseline's TF-IDF and logistic regression (its ``score``),
  result assembly (``Predictor._assemble``), and the rest of ``predict``. cProfile slows Python
  code more than native code, so the Python stages' shares are upper bounds;
* **operators** (``torch.profiler``, torch backends only): self CPU time per aten operator, grouped
  into linear layers, attention, layer norm, GELU, embeddings and the rest;
* **padding**: the share of token positions in the length-sorted batches that are padding.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import serving/training

from batch_throughput import load_texts  # noqa: E402

STAGES = {
    "figure matching": ("serving/figures.py", "first_mentions"),
    "tokenization and windowing": ("serving/model.py", "encode"),
    "network (encoder and heads)": ("serving/", "forward"),
    "TF-IDF and logistic regression": ("serving/predictors/baseline.py", "score"),
    "result assembly": ("serving/predictors/base.py", "_assemble"),
}
OPERATORS = {
    "linear layers": ("addmm", "aten::mm", "aten::linear", "onednn", "mkldnn"),
    "attention": ("attention", "bmm", "softmax", "aten::matmul", "baddbmm"),
    "layer norm": ("layer_norm",),
    "GELU": ("gelu",),
    "embeddings": ("embedding", "index_select"),
}


def _predict_all(predictor, texts: list[str], window: int) -> None:
    for s in range(0, len(texts), window):
        predictor.predict(texts[s : s + window])


def stage_times(predictor, texts: list[str], window: int) -> dict[str, float]:
    """Cumulative seconds per stage under cProfile, and the profiled total."""
    profile = cProfile.Profile()
    profile.runcall(_predict_all, predictor, texts, window)
    stats = pstats.Stats(profile).stats
    out: dict[str, float] = {}
    for stage, (file_part, func) in STAGES.items():
        # the outermost matching function (the model's forward encloses its heads' forward)
        seconds = max(
            (v[3] for (file, _, name), v in stats.items() if name == func and file_part in file),
            default=0.0,
        )
        if seconds:
            out[stage] = seconds
    total = sum(v[3] for (f, _, name), v in stats.items() if name == "_predict_all")
    out["rest of predict"] = max(0.0, total - sum(out.values()))
    out["total"] = total
    return out


def operator_times(predictor, texts: list[str], window: int) -> dict[str, float]:
    """Self CPU seconds per operator group under torch.profiler (torch backends)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        _predict_all(predictor, texts, window)
        wall = time.perf_counter() - started
    groups = dict.fromkeys([*OPERATORS, "other operators"], 0.0)
    for event in prof.key_averages():
        seconds = event.self_cpu_time_total / 1e6
        name = event.key.lower()
        group = next(
            (g for g, keys in OPERATORS.items() if any(k.lower() in name for k in keys)),
            "other operators",
        )
        groups[group] += seconds
    groups["outside operators (Python, tokenizer, figures)"] = max(0.0, wall - sum(groups.values()))
    groups["total"] = wall
    return groups


def padding_share(predictor, texts: list[str]) -> float:
    """Padding positions / all positions in the predictor's length-sorted batches."""
    from serving.model import length_order

    lengths = [len(ids) for ids in predictor.tokenizer(texts)["input_ids"]]
    lengths = [min(n, predictor.max_length) for n in lengths]
    order = length_order(predictor.tokenizer, texts)  # as the predictor batches them
    real = padded = 0
    for s in range(0, len(order), predictor.batch_size):
        batch = [lengths[i] for i in order[s : s + predictor.batch_size]]
        real += sum(batch)
        padded += max(batch) * len(batch)
    return 1 - real / padded


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="transformer", help="model kind, name or tag")
    parser.add_argument("--backend", default="torch-bf16")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from serving.predictors.factory import load_predictor

    texts = load_texts(args.n)
    predictor = load_predictor(args.model, backend=args.backend)
    predictor.predict(texts[:8])  # warm-up
    started = time.perf_counter()
    _predict_all(predictor, texts, args.window)
    wall = time.perf_counter() - started
    result: dict[str, Any] = {
        "model": predictor.version,
        "backend": args.backend,
        "n": len(texts),
        "wall_s": round(wall, 3),
        "paragraphs_per_s": round(len(texts) / wall, 1),
        "stages_s": {k: round(v, 3) for k, v in stage_times(predictor, texts, args.window).items()},
    }
    if hasattr(predictor, "tokenizer"):
        result["padding_share"] = round(padding_share(predictor, texts), 3)
    if args.backend.startswith("torch") and hasattr(predictor, "tokenizer"):
        ops = operator_times(predictor, texts, args.window)
        result["operators_s"] = {k: round(v, 3) for k, v in ops.items()}

    print(f"{result['model']} {args.backend}: {result['paragraphs_per_s']} paragraphs/s")
    for table in ("stages_s", "operators_s"):
        if table in result:
            total = result[table]["total"]
            print(f"\n| {table[:-2]} | seconds | share |\n| --- | --- | --- |")
            for k, v in result[table].items():
                if k != "total":
                    print(f"| {k} | {v:.3f} | {v / total:.0%} |")
            print(f"| total (under the profiler) | {total:.3f} | |")
    if "padding_share" in result:
        print(f"\npadding: {result['padding_share']:.1%} of token positions")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
