"""Article-level view: per-paragraph results rolled up into one summary."""

from __future__ import annotations

from collections import defaultdict

from serving.results import ParagraphResult


def summarise(results: list[ParagraphResult], sentiments: list[str]) -> dict:
    """Frames present anywhere, and each figure's overall sentiment.

    A figure's overall sentiment is the class with the highest mean score over the paragraphs
    that mention it (mean probabilities, so one confident paragraph cannot be outvoted by
    two lukewarm ones the way a majority vote would allow).
    """
    frames = []
    for r in results:
        frames.extend(f.label for f in r.frames if f.present and f.label not in frames)
    scores: dict[str, list[dict[str, float]]] = defaultdict(list)
    registered: dict[str, bool] = {}
    for r in results:
        for fig in r.figures:
            scores[fig.name].append(fig.scores)
            registered[fig.name] = fig.registered
    figures = []
    for name, rows in scores.items():
        mean = {s: round(sum(row[s] for row in rows) / len(rows), 4) for s in sentiments}
        figures.append(
            {
                "name": name,
                "registered": registered[name],
                "sentiment": max(sentiments, key=lambda s: mean[s]),
                "scores": mean,
                "paragraphs": len(rows),
            }
        )
    return {"frames": frames, "figures": figures}
