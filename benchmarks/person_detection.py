"""Person detection of the figure matcher on annotated paragraphs: precision and recall.

    .venv/bin/python benchmarks/person_detection.py labels/corpus/seeds.jsonl \\
        labels/corpus/transfer/transfer.jsonl [--labels DIR] [--show-misses]

For each paragraph, the annotated people (canonical names) are compared with the people the
matcher reports (``FigureRegistry.first_mentions``, what the models attach sentiment to). A found
person counts as correct when the canonical name equals an annotated one, or when the found
mention overlaps an annotated mention (an unregistered person found under another spelling).
Prints precision, recall and F1 per file with the counts, and the misses when asked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from serving.figures import load_registry


def score(path: Path, registry, show: bool = False, context: bool = False) -> dict[str, float]:
    tp = fp = fn = 0
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    contexts: dict[str, list[str]] = {}
    if context:  # the people named in earlier paragraphs of the same story
        by_story: dict[str, list[dict]] = {}
        for row in rows:
            by_story.setdefault(row["story_id"], []).append(row)
        for story in by_story.values():
            found = registry.document_contexts([r["text"] for r in story])
            contexts.update({r["id"]: c for r, c in zip(story, found, strict=True)})
    for row in rows:
        gold = {f["name"]: (f.get("start", -1), f.get("end", -1)) for f in row["figures"]}
        found = registry.first_mentions(row["text"], contexts.get(row["id"], ()))
        matched: set[str] = set()
        for m in found:
            hit = next(
                (
                    name
                    for name, (s, e) in gold.items()
                    if name not in matched and (name == m.name or (s < m.end and m.start < e))
                ),
                None,
            )
            if hit:
                matched.add(hit)
                tp += 1
            else:
                fp += 1
                if show:
                    print(f"  FP {row['id']}: {m.name!r} ({m.mention!r})")
        for name in gold.keys() - matched:
            fn += 1
            if show:
                print(f"  FN {row['id']}: {name!r}")
    p = tp / max(1, tp + fp)
    r = tp / max(1, tp + fn)
    return {
        "people": tp + fn,
        "found": tp + fp,
        "precision": round(p, 3),
        "recall": round(r, 3),
        "f1": round(2 * p * r / max(1e-9, p + r), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--labels", type=Path, default=None, help="labels dir (figures.yaml)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument(
        "--context", action="store_true", help="resolve against earlier paragraphs of the story"
    )
    args = parser.parse_args()
    registry = load_registry(args.labels / "figures.yaml" if args.labels else None)
    for path in args.files:
        print(path, json.dumps(score(path, registry, args.show_misses, args.context)))


if __name__ == "__main__":
    main()
