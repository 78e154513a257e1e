"""Evidence: the sentences that carry each frame, and the sentence of each figure's mention.

Asked for per paragraph (``evidence: true`` in the API, ``stanceframe label --evidence``); off by
default, because it costs extra scoring. Two methods, both run in the same ``score`` call as the
paragraphs themselves, so a paragraph and its sentences share one batch:

* ``alone`` (the default; chosen by measurement, see the README's "Evidence" section): each
  sentence of a paragraph of two or more sentences is scored on its own; a present frame's
  evidence is its highest-scoring sentence, plus every other sentence that scores at or above the
  frame's threshold on its own. The score is the sentence's own probability for the frame.
* ``occlusion``: the paragraph is scored again without each sentence in turn; a sentence's score
  is how far the frame's probability falls without it. Evidence is the sentence with the largest
  fall, plus every other one whose fall is at least half of that.

A paragraph of one sentence is its own evidence, scored by the paragraph's probability. A
figure's evidence is the sentence holding its mention (the sentiment head reads the mention in its
context), scored by the probability of the figure's predicted sentiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from serving.results import Evidence, ParagraphResult
from serving.text import split_sentences

METHODS = ("alone", "occlusion")
DEFAULT_METHOD = "alone"


@dataclass
class EvidencePlan:
    """The extra texts one paragraph adds to the scoring batch, and where they sit in it."""

    sentences: list[tuple[int, int, str]]
    first: int = 0
    """Index of this paragraph's first extra text in the extra block (none when one sentence)."""

    @property
    def n_extra(self) -> int:
        return len(self.sentences) if len(self.sentences) > 1 else 0


def extra_texts(text: str, sentences: list[tuple[int, int, str]], method: str) -> list[str]:
    """The texts scored for one paragraph's evidence: each sentence alone, or the paragraph
    without each sentence."""
    if len(sentences) < 2:
        return []
    if method == "alone":
        return [s for _, _, s in sentences]
    if method == "occlusion":
        return [
            " ".join(t for j, (_, _, t) in enumerate(sentences) if j != i)
            for i in range(len(sentences))
        ]
    raise ValueError(f"unknown evidence method {method!r}: expected one of {', '.join(METHODS)}")


def plan(
    texts: Sequence[str], wanted: Sequence[bool], method: str
) -> tuple[list[EvidencePlan | None], list[str]]:
    """Per paragraph, its plan (``None`` when not asked), and the extra texts to score, in order."""
    plans: list[EvidencePlan | None] = []
    extra: list[str] = []
    for text, want in zip(texts, wanted, strict=True):
        if not want:
            plans.append(None)
            continue
        sentences = split_sentences(text) or [(0, len(text), text)]
        plans.append(EvidencePlan(sentences, first=len(extra)))
        extra.extend(extra_texts(text, sentences, method))
    return plans, extra


def attach(
    result: ParagraphResult,
    item: EvidencePlan,
    paragraph_probs: np.ndarray,
    extra_probs: np.ndarray,
    thresholds: np.ndarray,
    method: str,
) -> None:
    """Fill ``evidence`` on the result's present frames and on its figures."""
    sentences = item.sentences
    rows = extra_probs[item.first : item.first + item.n_extra]
    for k, frame in enumerate(result.frames):
        if not frame.present:
            frame.evidence = []  # asked for, none: the key is there, so rows keep one shape
            continue
        if item.n_extra == 0:
            frame.evidence = [_span(sentences[0], float(paragraph_probs[k]))]
            continue
        if method == "alone":
            scores = rows[:, k]
            keep = scores >= thresholds[k]
        else:
            scores = np.maximum(paragraph_probs[k] - rows[:, k], 0.0)
            keep = scores >= 0.5 * scores.max()
        keep[int(np.argmax(scores))] = True
        order = sorted(np.flatnonzero(keep), key=lambda i: -scores[i])
        frame.evidence = [_span(sentences[i], float(scores[i])) for i in order]
    for figure in result.figures:
        holder = next((s for s in sentences if s[0] <= figure.start < s[1]), sentences[0])
        figure.evidence = _span(holder, figure.scores.get(figure.sentiment, 0.0))


def _span(sentence: tuple[int, int, str], score: float) -> Evidence:
    start, end, text = sentence
    return Evidence(start=start, end=end, text=text, score=round(score, 4))
