"""Model study: train recipe variants over seeds, score each on the seed gold and the transfer set.

Models are chosen by transfer (the seed gold and the held-out transfer set), never by written-corpus
CV. Each variant is a config file plus dotted overrides; each run trains without saving, then scores
the model on both held-out sets with 95 % bootstrap intervals (stories resampled). Prints a Markdown
table with mean and spread over seeds, and writes every number to ``--out`` (JSON)::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/model_study.py --seeds 13 14 15 \\
        --variant shipped=training/configs/transformer.yaml \\
        --variant "no-swap=training/configs/transformer.yaml;data.name_swap=0" \\
        --out runs/model_study.json

A variant is ``NAME=CONFIG[;KEY=VALUE...]``; values are read as YAML (``data.train=[a.jsonl,b]``).
The run resumes: variants and seeds already in ``--out`` are not trained again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from training.data.corpus import load_corpus
from training.evaluation.run import evaluate_model
from training.evaluation.scoring import headline
from training.fit.config import load_config
from training.fit.recipe import train

SETS = ("gold", "transfer")
CI_PATHS = {
    "frames_macro_f1": "frames.macro_f1",
    "sentiment_macro_f1": "figures.sentiment.macro_f1",
}


def parse_variant(spec: str) -> tuple[str, str, dict[str, Any]]:
    name, _, rest = spec.partition("=")
    config, *pairs = rest.split(";")
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        overrides[key.strip()] = yaml.safe_load(value)
    return name, config, overrides


def run_one(
    config_path: str, overrides: dict[str, Any], seed: int, save: bool = False
) -> dict[str, Any]:
    cfg = load_config(config_path, {**overrides, "seed": seed})
    started = time.perf_counter()
    result = train(cfg, save=save)
    row: dict[str, Any] = {"train_seconds": round(time.perf_counter() - started, 1)}
    if save:
        row["tag"] = result.tag
    for name in SETS:
        paths = cfg.data.gold if name == "gold" else cfg.data.transfer
        paragraphs = load_corpus(paths, result.predictor.schema)
        scored = evaluate_model(result.predictor, paragraphs)
        row[name] = {
            **headline(scored),
            "ci": scored["ci"],
            "per_frame": scored["frames"]["per_label"],
            "sentiment": {
                k: scored["figures"]["sentiment"][k] for k in ("accuracy", "per_class", "confusion")
            },
            "detection": scored["figures"]["detection"],
            "n": len(paragraphs),
        }
    return row


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| variant | seeds | gold frames F1 | gold sentiment F1 | transfer frames F1 "
        "| transfer sentiment F1 | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        cells = [name, str(len(runs))]
        for set_name in SETS:
            for key in ("frames_macro_f1", "sentiment_macro_f1"):
                values = [r[set_name][key] for r in runs.values() if r[set_name][key] is not None]
                if not values:
                    cells.append("n/a")
                    continue
                spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
                first = next(iter(runs.values()))[set_name]["ci"].get(CI_PATHS[key]) or {}
                ci = f" [{first['low']:.2f}, {first['high']:.2f}]" if "low" in first else ""
                cells.append(f"{statistics.mean(values):.3f}{spread}{ci}")
        cells.append(f"{statistics.mean(r['train_seconds'] for r in runs.values()):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


PRF = ("precision", "recall", "f1")


def _mean(values: Any) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.mean(known):.2f}" if known else "n/a"


def per_frame_table(results: dict[str, dict[str, Any]], set_name: str = "transfer") -> str:
    """Precision / recall / F1 per frame on one set, mean over seeds."""
    labels = sorted(
        {k for runs in results.values() for r in runs.values() for k in r[set_name]["per_frame"]}
    )
    lines = [
        "| variant | " + " | ".join(f"{label} P / R / F1" for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for name, runs in results.items():
        cells = [name]
        for label in labels:
            rows = [r[set_name]["per_frame"][label] for r in runs.values()]
            cells.append(" / ".join(_mean(row[key] for row in rows) for key in PRF))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", required=True, help="NAME=CONFIG[;K=V...]")
    parser.add_argument("--seeds", type=int, nargs="+", default=[13])
    parser.add_argument("--out", type=Path, default=Path("runs/model_study.json"))
    parser.add_argument(
        "--save",
        action="append",
        default=[],
        metavar="NAME",
        help="save this variant's model of the first seed into the model store",
    )
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = (
        json.loads(args.out.read_text()) if args.out.exists() else {}
    )
    for spec in args.variant:
        name, config, overrides = parse_variant(spec)
        for seed in args.seeds:
            if str(seed) in results.get(name, {}):
                continue
            print(f"training {name} seed {seed} ...", flush=True)
            save = name in args.save and seed == args.seeds[0]
            results.setdefault(name, {})[str(seed)] = run_one(config, overrides, seed, save)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2))
    print(table(results))
    print("(CI: 95 % bootstrap interval of the first seed's model; ± is the std over seeds)")
    print("\nper frame on the transfer set (mean over seeds):")
    print(per_frame_table(results))


if __name__ == "__main__":
    main()
