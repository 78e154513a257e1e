"""Inter-annotator agreement between two annotations of the same paragraphs.

The second file may be the full corpus format or a reduced one carrying only
``{"id", "frames", "figures": [{"name", "sentiment"}]}`` (what a blind second pass produces).
Frames are compared per label (binary kappa); figure sentiment is compared on the figures both
annotators labelled in the same paragraph, matched by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score

from serving.schema import LabelSchema
from training.data.corpus import CorpusError, Problem, expand_paths, iter_jsonl


def read_labels(paths: list[str | Path]) -> dict[str, dict[str, Any]]:
    """``{id: {"frames": set, "figures": {name: sentiment}}}`` from full or reduced records."""
    out: dict[str, dict[str, Any]] = {}
    problems = []
    for path in expand_paths(paths):
        if not path.is_file():
            problems.append(Problem(str(path), 0, "file not found"))
            continue
        for lineno, obj, err in iter_jsonl(path):
            if err or not isinstance(obj, dict) or "id" not in obj:
                problems.append(Problem(str(path), lineno, err or "expected an object with 'id'"))
                continue
            out[obj["id"]] = {
                "frames": set(obj.get("frames") or []),
                "figures": {f["name"]: f["sentiment"] for f in obj.get("figures") or []},
            }
    if problems:
        raise CorpusError(problems)
    return out


def _kappa(a: list, b: list) -> float | None:
    if not a:
        return None
    if len(set(a) | set(b)) == 1:  # both annotators used a single identical label
        return 1.0
    return float(cohen_kappa_score(a, b))


def agreement(
    first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]], schema: LabelSchema
) -> dict[str, Any]:
    """Cohen's kappa and raw agreement per frame and for figure sentiment on shared ids."""
    ids = sorted(set(first) & set(second))
    result: dict[str, Any] = {"paragraphs": len(ids), "frames": {}}
    for name in schema.frame_names:
        a = [name in first[i]["frames"] for i in ids]
        b = [name in second[i]["frames"] for i in ids]
        result["frames"][name] = {
            "kappa": _kappa(a, b),
            "agreement": sum(x == y for x, y in zip(a, b, strict=True)) / len(ids) if ids else None,
            "positives": [sum(a), sum(b)],
        }
    sa, sb = [], []
    for i in ids:
        for name, sentiment in first[i]["figures"].items():
            if name in second[i]["figures"]:
                sa.append(sentiment)
                sb.append(second[i]["figures"][name])
    result["sentiment"] = {
        "kappa": _kappa(sa, sb),
        "agreement": sum(x == y for x, y in zip(sa, sb, strict=True)) / len(sa) if sa else None,
        "pairs": len(sa),
    }
    return result
