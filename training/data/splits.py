"""Splits grouped by story, so near-duplicates (a spun copy and its original) never straddle."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator, Sequence

from training.data.corpus import Paragraph


def grouped_split(
    paragraphs: Sequence[Paragraph],
    fraction: float,
    seed: int,
    eligible: Collection[str] | None = None,
) -> tuple[list[Paragraph], list[Paragraph]]:
    """Hold out about ``fraction`` of the stories: returns (train, held_out).

    ``eligible``: the story ids that may be held out (``fraction`` is a share of those); None: all.
    """
    stories = sorted({p.story_id for p in paragraphs})
    if eligible is not None:
        stories = [s for s in stories if s in eligible] or stories
    random.Random(seed).shuffle(stories)
    n_held = max(1, round(fraction * len(stories))) if len(stories) > 1 else 0
    held = set(stories[:n_held])
    return (
        [p for p in paragraphs if p.story_id not in held],
        [p for p in paragraphs if p.story_id in held],
    )


def grouped_folds(
    paragraphs: Sequence[Paragraph], k: int, seed: int
) -> Iterator[tuple[list[Paragraph], list[Paragraph]]]:
    """K folds over shuffled stories: yields (train, test) pairs, every story tested once."""
    stories = sorted({p.story_id for p in paragraphs})
    if k < 2 or k > len(stories):
        raise ValueError(f"--cv needs 2 <= K <= number of stories ({len(stories)}), got {k}")
    random.Random(seed).shuffle(stories)
    fold_of = {s: i % k for i, s in enumerate(stories)}
    for fold in range(k):
        yield (
            [p for p in paragraphs if fold_of[p.story_id] != fold],
            [p for p in paragraphs if fold_of[p.story_id] == fold],
        )
