"""Name-swap augmentation: copies of training paragraphs with registered figures replaced.

A frame is an argument about leaders, units and voters, not about particular names. Trained on a
corpus where some names mostly appear in one frame, a model learns the names. Each swapped copy
replaces every registered figure that the paragraph annotates with another registered figure of
the same party (any other figure when the party has no one else): the full name, the bare surname
(only for figures whose surname may stand alone, or after a title) and the annotated mention, with
mention offsets recomputed. Labels are unchanged. Copies keep the original's ``story_id``, so a
story-grouped split never puts a paragraph and its copy on different sides.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace

from serving.figures import Figure, FigureRegistry
from training.data.corpus import FigureLabel, Paragraph

SWAP_SUFFIX = "~swap"


def _whole(word: str) -> str:
    return rf"(?<![\w-]){re.escape(word)}(?![\w-])"


def _swap_text(text: str, old: Figure, new: Figure, titles: Sequence[str]) -> str:
    text = re.sub(_whole(old.name), new.name, text)
    title_alt = "|".join(re.escape(t) for t in titles)
    text = re.sub(
        rf"(?<![\w-])((?:{title_alt})\.?\s+){re.escape(old.surname)}(?![\w-])",
        lambda m: m.group(1) + new.surname,
        text,
    )
    if old.surname_alone:
        text = re.sub(_whole(old.surname), new.surname, text)
    return text


def _new_mention(mention: str, old: Figure, new: Figure) -> str | None:
    if mention == old.name:
        return new.name
    if mention == old.surname or mention.endswith(" " + old.surname):
        return mention[: len(mention) - len(old.surname)] + new.surname
    return None  # an alias ("Jezza"): keep the paragraph's figure as it is


def swap_names(
    paragraph: Paragraph, registry: FigureRegistry, rng: random.Random
) -> Paragraph | None:
    """One swapped copy of ``paragraph``, or None when it has no swappable registered figure."""
    text, plan = paragraph.text, {}
    for fig in paragraph.figures:
        old = registry.get(fig.name)
        if old is None or fig.name in plan or _new_mention(fig.mention, old, old) is None:
            continue
        taken = {f.name for f in paragraph.figures} | {n.name for n in plan.values()}
        pool = [f for f in registry.figures if f.party == old.party and f.name not in taken]
        pool = pool or [f for f in registry.figures if f.name not in taken]
        if pool:
            plan[fig.name] = rng.choice(pool)
    if not plan:
        return None
    for name, new in plan.items():
        text = _swap_text(text, registry.get(name), new, registry.titles)
    figures = []
    for fig in paragraph.figures:
        if fig.name not in plan:
            mention, name = fig.mention, fig.name
        else:
            name = plan[fig.name].name
            mention = _new_mention(fig.mention, registry.get(fig.name), plan[fig.name])
        match = re.search(_whole(mention), text)
        if match is None:
            return None  # the rewrite moved something we cannot locate: skip this copy
        figures.append(FigureLabel(name, mention, match.start(), match.end(), fig.sentiment))
    return replace(paragraph, id=paragraph.id + SWAP_SUFFIX, text=text, figures=tuple(figures))


def name_swap(
    paragraphs: Sequence[Paragraph], registry: FigureRegistry, rate: float, seed: int
) -> list[Paragraph]:
    """``paragraphs`` plus a swapped copy for a ``rate`` share of those with registered figures."""
    if rate <= 0:
        return list(paragraphs)
    rng = random.Random(seed)
    out = list(paragraphs)
    for p in paragraphs:
        if rng.random() < rate and (copy := swap_names(p, registry, rng)) is not None:
            out.append(copy)
    return out
