"""Active learning: which unlabelled paragraphs would teach the model most if annotated.

``suggest(inputs, n)`` reads anything ``stanceframe label`` reads, predicts every paragraph with
two models (the transformer and the baseline by default) and ranks by

* **uncertainty**: how close the closest frame score is to its own threshold (1 at the
  threshold, 0 far from it), and how unsure the least certain figure sentiment is;
* **disagreement**: the share of frame decisions, and of figure sentiments, on which the two
  models differ;

then picks greedily down the ranking, skipping any paragraph whose TF-IDF cosine similarity to
one already picked is at least ``max_similarity`` (no near-duplicates in one round). The picks are
written as Label Studio tasks with the first model's predictions, in the labelling config that
``data export-labelstudio`` writes, plus the ranking terms in ``meta``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serving.labelstudio import ls_prediction
from serving.predictors.factory import load_predictor
from serving.results import ParagraphResult
from training.batch.readers import LabelError, LabelOptions, discover, iter_items


@dataclass
class Suggestion:
    """One paragraph chosen for annotation and why (``prediction``: the first model's)."""

    id: str
    text: str
    score: float
    uncertainty: float
    disagreement: float
    prediction: ParagraphResult


def frame_uncertainty(result: ParagraphResult, thresholds: np.ndarray) -> float:
    """1 when some frame score sits on its threshold, falling linearly to 0 at 0 or 1 (on the
    side the score is on), so a threshold of 0.3 is judged on its own scale."""
    margins = [
        (t - f.score) / t if f.score < t else (f.score - t) / max(1e-9, 1.0 - t)
        for f, t in zip(result.frames, thresholds, strict=True)
    ]
    return float(1.0 - min(margins, default=1.0))


def sentiment_uncertainty(result: ParagraphResult) -> float:
    """1 minus the top probability of the least certain figure (0 without figures)."""
    tops = [max(f.scores.values()) for f in result.figures if f.scores]
    return float(1.0 - min(tops)) if tops else 0.0


def disagreement(a: ParagraphResult, b: ParagraphResult) -> float:
    """Share of frame decisions and figure sentiments on which two models differ."""
    frames = [fa.present != fb.present for fa, fb in zip(a.frames, b.frames, strict=True)]
    b_sent = {f.name: f.sentiment for f in b.figures}
    figures = [f.sentiment != b_sent[f.name] for f in a.figures if f.name in b_sent]
    votes = frames + figures
    return float(sum(votes) / len(votes)) if votes else 0.0


def pick_diverse(texts: list[str], order: list[int], n: int, max_similarity: float) -> list[int]:
    """Greedy picks down ``order``, skipping near-duplicates of an earlier pick."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return []
    vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    picked: list[int] = []
    for i in order:
        if len(picked) == n:
            break
        if picked and (vectors[picked] @ vectors[i].T).max() >= max_similarity:
            continue
        picked.append(i)
    return picked


def suggest(
    inputs: list[str | Path],
    n: int,
    model: str = "transformer",
    second_model: str = "baseline",
    max_similarity: float = 0.8,
    options: LabelOptions | None = None,
) -> tuple[list[Suggestion], int, Any]:
    """The ``n`` paragraphs to annotate next (best first), the count of unreadable rows, and the
    first model's label schema (for the tasks' labelling config)."""
    if n < 1:
        raise LabelError("n must be at least 1")
    if not 0 < max_similarity <= 1:
        raise LabelError("max_similarity must be in (0, 1]")
    opts = options or LabelOptions(progress=False)
    sources = discover(inputs)
    if not sources:
        raise LabelError(f"no input file to read in {', '.join(map(str, inputs))}")
    items = [item for _, item in iter_items(sources, opts)]
    good = [item for item in items if item.error is None]
    first, second = load_predictor(model), load_predictor(second_model)
    if not good:
        return [], len(items), first.schema
    texts, ids = [i.text for i in good], [i.id for i in good]
    a, b = first.predict(texts, ids), second.predict(texts, ids)
    rows = []
    for k, (ra, rb) in enumerate(zip(a, b, strict=True)):
        unc = max(frame_uncertainty(ra, first.thresholds), sentiment_uncertainty(ra))
        dis = disagreement(ra, rb)
        rows.append((unc + dis, unc, dis, k))
    order = [k for *_, k in sorted(rows, key=lambda r: (-r[0], r[3]))]
    picked = pick_diverse(texts, order, n, max_similarity)
    by_k = {k: (s, u, d) for s, u, d, k in rows}
    out = [
        Suggestion(
            ids[k], texts[k], round(by_k[k][0], 4), round(by_k[k][1], 4), round(by_k[k][2], 4), a[k]
        )
        for k in picked
    ]
    return out, len(items) - len(good), first.schema


def write_tasks(suggestions: list[Suggestion], schema, path: str | Path) -> int:
    """Label Studio tasks (data, the model's prediction, ranking terms in ``meta``)."""
    tasks: list[dict[str, Any]] = []
    for rank, s in enumerate(suggestions, start=1):
        tasks.append(
            {
                "data": {"id": s.id, "text": s.text},
                "predictions": [ls_prediction(s.prediction.to_dict(), schema, 0.5)],
                "meta": {
                    "rank": rank,
                    "score": s.score,
                    "uncertainty": s.uncertainty,
                    "disagreement": s.disagreement,
                },
            }
        )
    Path(path).write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(tasks)
