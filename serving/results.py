"""Result types shared by the service, batch labelling and evaluation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class FrameScore:
    label: str
    score: float
    present: bool


@dataclass
class FigureResult:
    name: str
    mention: str
    start: int
    end: int
    registered: bool
    sentiment: str
    scores: dict[str, float]


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
        return asdict(self)
