"""Ensembles and threshold rules of the two stored models, judged on transfer, chosen on dev.

    BENTOML_HOME=.bentoml python benchmarks/ensemble_study.py --out runs/ensemble_study.json

No training: it rebuilds the shipped recipe's story-grouped dev split (same config, same seed, so
neither stored model saw it), scores the dev split, the seed gold and the transfer set with the
stored transformer and baseline, and compares frame decision rules:

* each model with its own stored thresholds (as served);
* the transformer at a flat 0.5 (a rule fixed in advance, no tuning);
* the mean of both models' probabilities, weight ``w`` on the transformer, with per-frame
  thresholds tuned on the dev split only (``serving.thresholds.tune_thresholds``), for each ``w``
  in ``--weights``; the weight is then *chosen on dev* too, and its row is marked.

Frames macro-F1 with 95 % bootstrap intervals (stories resampled on the transfer set; paragraphs on
the seed gold, which has only four stories). The gold and the transfer set choose nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from serving.predictors.factory import load_predictor
from serving.thresholds import tune_thresholds
from training.data.splits import grouped_split
from training.evaluation.scoring import frame_matrix
from training.fit.config import load_config
from training.fit.info import load_training_data

REPO = Path(__file__).resolve().parents[1]


def macro_f1(Y: np.ndarray, pred: np.ndarray) -> float:
    scores = []
    for j in range(Y.shape[1]):
        tp = int((Y[:, j] & pred[:, j]).sum())
        fp = int((~Y[:, j] & pred[:, j]).sum())
        fn = int((Y[:, j] & ~pred[:, j]).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def interval(Y, pred, groups, n: int = 1000, seed: int = 7) -> list[float]:
    """95 % bootstrap interval of macro-F1, resampling ``groups`` (stories or paragraphs)."""
    rng = np.random.default_rng(seed)
    keys = sorted(set(groups))
    index = {k: np.flatnonzero(np.asarray(groups) == k) for k in keys}
    values = []
    for _ in range(n):
        rows = np.concatenate([index[keys[i]] for i in rng.integers(0, len(keys), len(keys))])
        values.append(macro_f1(Y[rows], pred[rows]))
    return [
        round(float(np.percentile(values, 2.5)), 3),
        round(float(np.percentile(values, 97.5)), 3),
    ]


def probabilities(predictor, paragraphs) -> np.ndarray:
    results = predictor.predict([p.text for p in paragraphs])
    return np.array([[f.score for f in r.frames] for r in results])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "training/configs/transformer.yaml"))
    parser.add_argument("--weights", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = load_config(args.config)
    data = load_training_data(config)
    _, dev = grouped_split(data.paragraphs, config.data.dev_fraction, config.seed, data.dev_stories)
    sets = {"dev": dev, "gold": data.gold, "transfer": data.transfer}
    transformer, baseline = load_predictor("transformer"), load_predictor("baseline")
    Y = {k: frame_matrix(v, data.schema).astype(bool) for k, v in sets.items()}
    groups = {
        "dev": [p.story_id for p in dev],
        "gold": [p.id for p in data.gold],
        "transfer": [p.story_id for p in data.transfer],
    }
    P = {
        name: {k: probabilities(model, v) for k, v in sets.items()}
        for name, model in (("transformer", transformer), ("baseline", baseline))
    }
    rules = {
        "transformer, stored thresholds": (P["transformer"], transformer.thresholds),
        "baseline, stored thresholds": (P["baseline"], baseline.thresholds),
        "transformer, flat 0.5": (P["transformer"], np.full(len(data.schema.frames), 0.5)),
    }
    for w in args.weights:
        mixed = {k: w * P["transformer"][k] + (1 - w) * P["baseline"][k] for k in sets}
        rules[f"mean, w={w}, thresholds tuned on dev"] = (
            mixed,
            tune_thresholds(Y["dev"], mixed["dev"]),
        )
    rows = {}
    for name, (probs, thresholds) in rules.items():
        row = {"thresholds": [round(float(t), 3) for t in thresholds]}
        for k in sets:
            pred = probs[k] >= thresholds
            row[k] = round(macro_f1(Y[k], pred), 3)
            if k != "dev":
                row[f"{k}_ci"] = interval(Y[k], pred, groups[k])
        rows[name] = row
    ensembles = [n for n in rows if n.startswith("mean")]
    chosen = max(ensembles, key=lambda n: rows[n]["dev"])
    report = {
        "chosen_on_dev": chosen,
        "transformer": transformer.version,
        "baseline": baseline.version,
        "n": {k: len(v) for k, v in sets.items()},
        "rules": rows,
    }
    print("| rule | dev | seed gold [95 % CI] | transfer [95 % CI] | thresholds |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        mark = " (chosen on dev)" if name == chosen else ""
        print(
            f"| {name}{mark} | {r['dev']:.3f} | {r['gold']:.3f} {r['gold_ci']} "
            f"| {r['transfer']:.3f} {r['transfer_ci']} | {r['thresholds']} |"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
