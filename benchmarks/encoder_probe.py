"""Frozen encoders compared by transfer: mean-pooled embeddings + logistic regression per frame.

    python benchmarks/encoder_probe.py --encoder minilm-l6=sentence-transformers/all-MiniLM-L6-v2 \
        --encoder mpnet-base=.encoders/all-mpnet-base-v2 --out runs/encoder_probe.json

A cheap first look at which encoder carries the frames on real-register text, before paying for a
fine-tuning run (a base-size encoder takes about an hour to fine-tune on 2 CPU cores). For each
encoder it embeds the written corpus, the seed gold and the transfer set once (attention-masked
mean of the last layer, the sentence-transformers pooling; cached under ``runs/embeddings/``),
then fits one logistic regression per frame on the shipped recipe's training split. The
regularisation strength and the thresholds are chosen on the recipe's dev split (corpus-v2
stories, unseen in training); the seed gold and the transfer set choose nothing. ``a+b`` names
rows on the concatenated embeddings of two encoders.

Frames macro-F1 with 95 % bootstrap intervals (stories resampled on the transfer set, paragraphs
on the seed gold), plus ranking quality (macro ROC AUC) that does not depend on thresholds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from ensemble_study import interval, macro_f1  # the ensemble study's metrics (same folder)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from serving.model import masked_mean, resolve_base_model, set_offline_if_local
from serving.thresholds import tune_thresholds
from training.data.splits import grouped_split
from training.evaluation.scoring import frame_matrix
from training.fit.config import load_config
from training.fit.info import load_training_data

REPO = Path(__file__).resolve().parents[1]


def embed(name: str, texts: list[str], cache: Path, batch_size: int = 32) -> np.ndarray:
    """Mean-pooled last-layer embeddings, longest-first batches (less padding), cached on disk."""
    from transformers import AutoModel, AutoTokenizer

    key = hashlib.sha256(("\n".join(texts) + "\x00" + name).encode()).hexdigest()[:16]
    path = cache / f"{Path(name).name}-{key}.npy"
    if path.exists():
        return np.load(path)
    source = resolve_base_model(name)
    set_offline_if_local(source)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source).eval()
    order = np.argsort([-len(t) for t in texts])
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    started = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            rows = order[i : i + batch_size]
            enc = tokenizer(
                [texts[r] for r in rows],
                truncation=True,
                max_length=256,
                padding=True,
                return_tensors="pt",
            )
            states = model(**enc).last_hidden_state
            out[rows] = masked_mean(states, enc["attention_mask"]).numpy()
    print(f"  embedded {len(texts)} with {name} in {time.perf_counter() - started:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def fit_probe(X: np.ndarray, Y: np.ndarray, X_dev: np.ndarray, Y_dev: np.ndarray, Cs: list[float]):
    """One balanced logistic regression per frame; C per frame chosen on dev by average precision
    (a ranking score, so C and the threshold are not tuned on the same F1)."""
    from sklearn.metrics import average_precision_score

    scaler = StandardScaler().fit(X)
    Xs, Xd = scaler.transform(X), scaler.transform(X_dev)
    models, chosen = [], []
    for j in range(Y.shape[1]):
        best = None
        for C in Cs:
            clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
            clf.fit(Xs, Y[:, j])
            ap = average_precision_score(Y_dev[:, j], clf.predict_proba(Xd)[:, 1])
            if best is None or ap > best[0]:
                best = (ap, C, clf)
        models.append(best[2])
        chosen.append(best[1])

    def predict(Z: np.ndarray) -> np.ndarray:
        Zs = scaler.transform(Z)
        return np.stack([m.predict_proba(Zs)[:, 1] for m in models], axis=1)

    return predict, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "training/configs/transformer.yaml"))
    parser.add_argument(
        "--encoder", action="append", required=True, help="NAME=HF id or local path (repeatable)"
    )
    parser.add_argument("--combine", action="append", default=[], help="NAME1+NAME2 (repeatable)")
    parser.add_argument("--Cs", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3, 1.0])
    parser.add_argument("--cache", type=Path, default=REPO / "runs/embeddings")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = load_config(args.config)
    data = load_training_data(config)
    train, dev = grouped_split(
        data.paragraphs, config.data.dev_fraction, config.seed, data.dev_stories
    )
    sets = {"train": train, "dev": dev, "gold": data.gold, "transfer": data.transfer}
    Y = {k: frame_matrix(v, data.schema).astype(bool) for k, v in sets.items()}
    groups = {
        "gold": [p.id for p in data.gold],
        "transfer": [p.story_id for p in data.transfer],
    }
    encoders = dict(e.split("=", 1) for e in args.encoder)
    E = {
        name: {k: embed(src, [p.text for p in v], args.cache) for k, v in sets.items()}
        for name, src in encoders.items()
    }
    for combo in args.combine:
        parts = combo.split("+")
        E[combo] = {k: np.concatenate([E[p][k] for p in parts], axis=1) for k in sets}
    rows = {}
    for name, X in E.items():
        predict, Cs = fit_probe(X["train"], Y["train"], X["dev"], Y["dev"], args.Cs)
        P = {k: predict(X[k]) for k in ("dev", "gold", "transfer")}
        thresholds = tune_thresholds(Y["dev"], P["dev"])
        row = {"C": Cs, "thresholds": [round(float(t), 3) for t in thresholds]}
        for k in ("dev", "gold", "transfer"):
            pred = P[k] >= thresholds
            row[k] = round(macro_f1(Y[k], pred), 3)
            aucs = [roc_auc_score(Y[k][:, j], P[k][:, j]) for j in range(Y[k].shape[1])]
            row[f"{k}_auc"] = round(float(np.mean(aucs)), 3)
            if k != "dev":
                row[f"{k}_ci"] = interval(Y[k], pred, groups[k])
                row[f"{k}_per_frame_f1"] = [
                    round(macro_f1(Y[k][:, [j]], pred[:, [j]]), 3) for j in range(Y[k].shape[1])
                ]
        rows[name] = row
    print(
        "| frozen encoder + LR | dev F1 | seed gold F1 [95 % CI] | gold AUC "
        "| transfer F1 [95 % CI] | transfer AUC |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        print(
            f"| {name} | {r['dev']:.3f} | {r['gold']:.3f} {r['gold_ci']} | {r['gold_auc']:.3f} "
            f"| {r['transfer']:.3f} {r['transfer_ci']} | {r['transfer_auc']:.3f} |"
        )
    if args.out:
        report = {
            "encoders": encoders,
            "n": {k: len(v) for k, v in sets.items()},
            "frames": list(data.schema.frame_names),
            "rows": rows,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
