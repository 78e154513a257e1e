"""Splits grouped by story, so near-duplicates (a spun copy and its original) never straddle."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from training.data.corpus import Paragraph


def grouped_split(
    paragraphs: Sequence[Paragraph], fraction: float, seed: int
) -> tuple[list[Paragraph], list[Paragraph]]:
    """Hold out about ``fraction`` of the stories: returns (train, held_out)."""
    stories = sorted({p.story_id for p in paragraphs})
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
