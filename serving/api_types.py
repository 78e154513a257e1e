"""Typed HTTP input and output of the service (pydantic), with limits and examples.

Limits are read from the environment once at import, so they appear in the OpenAPI schema:

* ``STANCEFRAME_MAX_TEXT_CHARS`` (default 10,000): longest paragraph accepted by ``/classify``;
* ``STANCEFRAME_MAX_ARTICLE_CHARS`` (default 100,000): longest article for ``/classify_article``;
* ``STANCEFRAME_MAX_PARAGRAPHS`` (default 64): most paragraphs in one ``/classify`` request;
* ``STANCEFRAME_MAX_ARTICLE_PARAGRAPHS`` (default 200): most paragraphs in one article.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from serving.results import ParagraphResult
from serving.text import MAX_PARAGRAPH_CHARS

MAX_TEXT_CHARS = int(os.environ.get("STANCEFRAME_MAX_TEXT_CHARS", str(MAX_PARAGRAPH_CHARS)))
MAX_ARTICLE_CHARS = int(os.environ.get("STANCEFRAME_MAX_ARTICLE_CHARS", "100000"))
MAX_PARAGRAPHS = int(os.environ.get("STANCEFRAME_MAX_PARAGRAPHS", "64"))
MAX_ARTICLE_PARAGRAPHS = int(os.environ.get("STANCEFRAME_MAX_ARTICLE_PARAGRAPHS", "200"))

ModelChoice = Literal["auto", "transformer", "baseline"]
# At least one character that is neither whitespace nor zero-width (ZWSP, ZWNJ, ZWJ, word
# joiner, BOM): text made only of those is blank to a reader and to the model.
NonBlank = StringConstraints(
    strip_whitespace=False, min_length=1, pattern="[^\\s\u200b\u200c\u200d\u2060\ufeff]"
)

EXAMPLE_TEXT = (
    "Senior aides to the leader sent activists to seats Labour could never win, "
    "Ruth Smeeth said, while Jeremy Corbyn's office ignored the data."
)


class ParagraphIn(BaseModel):
    """One paragraph to classify."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"id": "p1", "text": EXAMPLE_TEXT}},
    )

    text: Annotated[str, NonBlank, Field(max_length=MAX_TEXT_CHARS, strict=True)]
    id: Annotated[str | None, Field(max_length=256)] = None
    model: ModelChoice = "auto"
    context: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256)]] | None,
        Field(
            max_length=500,
            description="People named earlier in the same document (full or canonical names, "
            "in order): a bare surname or 'Ms X' in this paragraph resolves to them.",
        ),
    ] = None
    evidence: bool = Field(
        default=False,
        description="Also return the sentences that carry each present frame and the sentence "
        "of each figure's mention (costs extra scoring; see the README's Evidence section).",
    )


class EvidenceOut(BaseModel):
    start: int = Field(description="Character offset of the sentence in the paragraph.")
    end: int
    text: str
    score: float = Field(
        description="For a frame: the sentence's own probability for it; for a figure: the "
        "probability of its sentiment."
    )


class FrameOut(BaseModel):
    label: str
    score: float
    present: bool
    evidence: list[EvidenceOut] | None = Field(
        default=None, description="Sentences carrying the frame, strongest first (when asked)."
    )


class FigureOut(BaseModel):
    name: str = Field(description="Canonical name (registered) or the name as written.")
    mention: str
    start: int
    end: int
    registered: bool
    sentiment: str
    scores: dict[str, float]
    evidence: EvidenceOut | None = Field(
        default=None, description="The sentence holding the mention (when asked)."
    )


class ParagraphOut(BaseModel):
    """Frames and figure sentiment for one paragraph."""

    id: str | None
    frames: list[FrameOut]
    figures: list[FigureOut]
    model: str = Field(description="'transformer' or 'baseline'")
    model_version: str
    fallback_reason: str | None = None

    @classmethod
    def from_result(cls, r: ParagraphResult) -> ParagraphOut:
        return cls.model_validate(r.to_dict())


class ArticleIn(BaseModel):
    """A whole article; it is split into paragraphs on blank lines and line breaks."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"id": "a1", "text": EXAMPLE_TEXT + "\n\nLabour won Putney."}
        },
    )

    text: Annotated[str, NonBlank, Field(max_length=MAX_ARTICLE_CHARS, strict=True)]
    id: Annotated[str | None, Field(max_length=256)] = None
    model: ModelChoice = "auto"
    evidence: bool = Field(default=False, description="Evidence for every paragraph.")


class FigureSummary(BaseModel):
    name: str
    registered: bool
    sentiment: str = Field(description="Sentiment with the highest mean score over paragraphs.")
    scores: dict[str, float]
    paragraphs: int


class ArticleSummary(BaseModel):
    frames: list[str] = Field(description="Frames present in at least one paragraph.")
    figures: list[FigureSummary]


class ArticleOut(BaseModel):
    id: str = Field(description="The article's id, or 'article' when none was given.")
    paragraphs: list[ParagraphOut]
    summary: ArticleSummary
