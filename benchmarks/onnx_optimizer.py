"""Does onnxruntime's transformer optimizer speed up the served encoder? Encoder only, fp32.

    BENTOML_HOME=.bentoml .venv/bin/python benchmarks/onnx_optimizer.py \\
        --out runs/onnx_optimizer.json

Four ONNX graphs of the stored transformer's encoder, each run by the project's own onnxruntime
session (:func:`serving.predictors.onnx.make_session`) on the same length-sorted, padded batches of
corpus paragraphs:

* ``export``: the ``onnx`` backend's cached export (the model's default attention);
* ``export+optimizer``: that graph through ``optimize_model(model_type="bert")``;
* ``eager``: the encoder reloaded with ``attn_implementation="eager"`` and exported the same way;
* ``eager+optimizer``: the eager graph optimised (the attention pattern the optimizer can fuse).

Reports paragraphs/s per round (rounds alternate between graphs, so a shared machine's drift hits
all of them), which operators the optimizer fused, and the largest difference in token states
from ``export`` (padding positions excluded). Graphs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import serving/training

from batch_throughput import load_texts  # noqa: E402


def batches_of(tokenizer, texts: list[str], size: int, max_length: int) -> list[dict]:
    texts = sorted(texts, key=len)
    out = []
    for s in range(0, len(texts), size):
        enc = tokenizer(
            texts[s : s + size],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="np",
        )
        out.append({k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="transformer", help="model kind, name or tag")
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    from serving.predictors.factory import load_predictor
    from serving.predictors.onnx import OUTPUT, _export, cache_dir, make_session
    from serving.store import find_model

    folder, info = find_model(args.model)
    predictor = load_predictor(args.model, backend="onnx")  # exports on first use
    fused: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        eager_path = Path(tmp) / "eager.onnx"
        eager = AutoModel.from_pretrained(str(folder / "encoder"), attn_implementation="eager")
        _export(eager, predictor.tokenizer, eager_path)
        graphs = {"export": cache_dir(folder, info) / "encoder.fp32.onnx", "eager": eager_path}
        for name, path in list(graphs.items()):
            hidden = eager.config.hidden_size
            heads = eager.config.num_attention_heads
            opt = optimize_model(str(path), "bert", num_heads=heads, hidden_size=hidden)
            fused[name] = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
            graphs[f"{name}+optimizer"] = Path(tmp) / f"{name}-optimized.onnx"
            opt.save_model_to_file(str(graphs[f"{name}+optimizer"]))
        sessions = {name: make_session(path) for name, path in graphs.items()}

        texts = load_texts(args.n)
        batches = batches_of(predictor.tokenizer, texts, args.batch_size, predictor.max_length)
        rates: dict[str, list[float]] = {name: [] for name in sessions}
        states: dict[str, list[np.ndarray]] = {}
        for session in sessions.values():
            session.run([OUTPUT], batches[0])  # warm-up
        for _ in range(args.rounds):
            for name, session in sessions.items():
                started = time.perf_counter()
                states[name] = [session.run([OUTPUT], b)[0] for b in batches]
                rates[name].append(round(len(texts) / (time.perf_counter() - started), 1))
    diff = {
        name: max(
            float(np.max(np.abs((a - b) * batch["attention_mask"][..., None])))
            for a, b, batch in zip(states["export"], out, batches, strict=True)
        )
        for name, out in states.items()
    }
    result = {"model": predictor.version, "n": len(texts), "batch_size": args.batch_size}
    result |= {"paragraphs_per_s": rates, "max_abs_diff": diff, "fused": fused}
    print("| graph | paragraphs/s per round | max abs diff from export |\n| --- | --- | --- |")
    for name in sessions:
        print(f"| {name} | {' / '.join(map(str, rates[name]))} | {diff[name]:.1e} |")
    for name, ops in fused.items():
        print(f"optimizer fused in {name}: {ops}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
