"""Result types shared by the service, batch labelling and evaluation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Evidence:
    """A sentence of the paragraph (character offsets into it) and how strongly it carries the
    frame or the figure's sentiment (see :mod:`serving.evidence`)."""

    start: int
    end: int
    text: str
    score: float


@dataclass
class FrameScore:
    label: str
    score: float
    present: bool
    evidence: list[Evidence] | None = None
    """The sentences carrying a present frame, strongest first (only when asked)."""


@dataclass
class FigureResult:
    name: str
    mention: str
    start: int
    end: int
    registered: bool
    sentiment: str
    scores: dict[str, float]
    evidence: Evidence | None = None
    """The sentence holding the mention (only when asked)."""


@dataclass
class ParagraphResult:
    """Everything the product says about one paragraph."""

    frames: list[FrameScore]
    figures: list[FigureResult]
    model: str
    model_version: str
    id: str | None = None
    fallback_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``evidence`` keys appear only where evidence was asked for."""
        out = asdict(self)
        for item in [*out["frames"], *out["figures"]]:
            if item.get("evidence") is None:
                item.pop("evidence", None)
        return out
