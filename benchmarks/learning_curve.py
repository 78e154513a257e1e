"""Learning curve of the annotation loop: paragraphs chosen by ``suggest``'s ranking vs at random.

Simulates rounds of annotation on the project's own data. The labelled set starts as round 1's
written corpus (``batch_w*``); the unlabelled pool is corpus v2 (``v2*``, real registers), whose
labels stand in for the annotator. Each round adds ``--per-round`` paragraphs from the pool,
chosen by the model trained so far (threshold-relative frame uncertainty and sentiment
uncertainty, near-duplicates skipped: the same terms as ``stanceframe suggest``; the
disagreement term is left out because each round trains only the baseline) or at random,
retrains, and scores frames and sentiment macro-F1 on the seed gold and the transfer set::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/learning_curve.py --rounds 5 --per-round 300 \\
        --out runs/learning_curve.json --plot runs/learning_curve.png

The baseline (TF-IDF + logistic regression) is the model here because a round then takes
seconds; the ranking code is the one ``suggest`` uses.
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import tempfile
from pathlib import Path

from serving.schema import load_schema
from training.batch.suggest import frame_uncertainty, pick_diverse, sentiment_uncertainty
from training.data.corpus import load_corpus
from training.data.labelstudio import write_paragraphs
from training.evaluation.scoring import evaluate_predictor, headline
from training.fit.config import load_config
from training.fit.recipe import train


def fit(labelled, folder: Path, name: str, seed: int):
    path = folder / f"{name}.jsonl"
    write_paragraphs(labelled, path)
    cfg = load_config(
        "training/configs/baseline.yaml",
        {"data.train": [str(path)], "data.dev_pool": [], "data.transfer": [], "seed": seed},
    )
    return train(cfg, save=False).predictor


def score(predictor, sets) -> dict[str, dict[str, float]]:
    return {name: headline(evaluate_predictor(predictor, paras)) for name, paras in sets.items()}


def choose(strategy: str, predictor, pool, n: int, rng: random.Random) -> list[int]:
    if strategy == "random":
        return rng.sample(range(len(pool)), min(n, len(pool)))
    results = predictor.predict([p.text for p in pool])
    ranks = [
        max(frame_uncertainty(r, predictor.thresholds), sentiment_uncertainty(r)) for r in results
    ]
    order = sorted(range(len(pool)), key=lambda i: -ranks[i])
    return pick_diverse([p.text for p in pool], order, n, 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("runs/learning_curve.json"))
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    start_files = sorted(glob.glob("labels/corpus/written/batch_w*.jsonl"))
    pool_files = sorted(glob.glob("labels/corpus/written/v2*.jsonl"))
    schema = load_schema()
    start, pool0 = load_corpus(start_files, schema), load_corpus(pool_files, schema)
    first = fit(start, Path(tempfile.mkdtemp()), "start", args.seed)
    sets = {
        "gold": load_corpus(["labels/corpus/seeds.jsonl"], schema),
        "transfer": load_corpus(["labels/corpus/transfer"], schema),
    }
    curves: dict[str, list[dict]] = {}
    for strategy in ("suggest", "random"):
        rng = random.Random(args.seed)
        folder = Path(tempfile.mkdtemp(prefix=f"curve-{strategy}-"))
        labelled, pool = list(start), list(pool0)
        predictor = first
        curves[strategy] = [{"labelled": len(labelled), **score(predictor, sets)}]
        for r in range(1, args.rounds + 1):
            picked = set(choose(strategy, predictor, pool, args.per_round, rng))
            labelled += [pool[i] for i in sorted(picked)]
            pool = [p for i, p in enumerate(pool) if i not in picked]
            predictor = fit(labelled, folder, f"round{r}", args.seed)
            curves[strategy].append({"labelled": len(labelled), **score(predictor, sets)})
            print(strategy, curves[strategy][-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(curves, indent=2))
    print(table(curves))
    if args.plot:
        plot(curves, args.plot)


def table(curves: dict[str, list[dict]]) -> str:
    lines = [
        "| labelled | suggest: gold / transfer frames F1 | random: gold / transfer frames F1 |",
        "|---|---|---|",
    ]
    for a, b in zip(curves["suggest"], curves["random"], strict=True):
        cells = [
            f"{x['gold']['frames_macro_f1']:.3f} / {x['transfer']['frames_macro_f1']:.3f}"
            for x in (a, b)
        ]
        lines.append(f"| {a['labelled']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, name in zip(axes, ("gold", "transfer"), strict=True):
        for strategy, style in (("suggest", "-o"), ("random", "--s")):
            xs = [p["labelled"] for p in curves[strategy]]
            ys = [p[name]["frames_macro_f1"] for p in curves[strategy]]
            ax.plot(xs, ys, style, label=strategy)
        ax.set_title(f"{name}: frames macro-F1 (baseline)")
        ax.set_xlabel("labelled paragraphs")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
