"""The span-checking core shared by the annotation-tool importers.

A tool's export gives labelled spans by offsets and/or text; :func:`locate` checks them against the
paragraph (UTF-16 offsets from older tools are converted), names are resolved through the registry,
and :func:`assemble` builds a validated :class:`~training.data.corpus.Paragraph` or the problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serving.figures import FigureRegistry
from serving.schema import LabelSchema
from training.data.corpus import (
    FigureLabel,
    Paragraph,
    Problem,
    _parse_record,
)

DATA_FIELDS = ("id", "story_id", "source", "text")
"""Record fields carried through a tool's task data unchanged."""
_POSSESSIVES = ("'s", "’s")


# ------------------------------------------------------------------------- shared import helpers
@dataclass
class Span:
    """A labelled span as read from a tool's export, before validation."""

    start: Any
    end: Any
    label: Any
    surface: str | None = None
    name: str | None = None


def _locate(text: str, span: Span) -> tuple[tuple[int, int] | None, list[str], list[str]]:
    """Python offsets of ``span`` in ``text`` (or None), with errors and warnings.

    UTF-16 offsets are converted; surrounding whitespace and a trailing possessive are trimmed.
    """
    start, end = span.start, span.end
    where = f"span {start}:{end}"
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        return None, [f"{where}: start/end must be integers"], []
    warnings = []
    ok = 0 <= start < end <= len(text)
    if span.surface is not None and (not ok or text[start:end] != span.surface):
        converted = _utf16_to_py(text, start, end)
        if converted and text[converted[0] : converted[1]] == span.surface:
            warnings.append(f"{where}: UTF-16 offsets converted to {converted[0]}:{converted[1]}")
            (start, end), ok = converted, True
        else:
            ok = False
    if not ok and span.surface is None:
        return None, [f"{where}: not inside the text (length {len(text)})"], []
    if not ok:
        there = text[start:end] if 0 <= start <= end else ""
        return None, [f"{where}: span text {span.surface!r} does not match text {there!r}"], []
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if text[start:end].endswith(_POSSESSIVES) and end - start > 2:
        end -= 2  # the corpus convention: a possessive is not part of the mention
    if start == end:
        return None, [f"{where}: span is only whitespace"], []
    return (start, end), [], warnings


def _utf16_to_py(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Convert UTF-16 code-unit offsets to Python offsets, or None when out of range."""
    units = 0
    out: dict[int, int] = {}
    for i, ch in enumerate(text + "\0"):
        out[units] = i
        units += 2 if ord(ch) > 0xFFFF else 1
    if start in out and end in out and out[start] < out[end] <= len(text):
        return out[start], out[end]
    return None


def _resolve_name(text: str, start: int, end: int, registry: FigureRegistry) -> str:
    """Canonical name for the person at ``text[start:end]``.

    The registry's mention at the same offsets wins, then one overlapping the span (e.g. a span
    that includes a possessive), then the first person found in the span text alone, else the
    surface itself.
    """
    mentions = registry.find(text)
    for m in mentions:
        if (m.start, m.end) == (start, end):
            return m.name
    for m in mentions:
        if m.start < end and start < m.end:
            return m.name
    first = registry.first_mentions(text[start:end])
    return first[0].name if first else text[start:end]


def _figures(
    text: str, spans: list[Span], schema: LabelSchema, registry: FigureRegistry
) -> tuple[list[FigureLabel], list[str], list[str]]:
    """Validate spans and turn them into figures, one per canonical name (the first mention)."""
    errors: list[str] = []
    warnings: list[str] = []
    figures: list[FigureLabel] = []
    for span in spans:
        offsets, errs, warns = _locate(text, span)
        errors += errs
        warnings += warns
        if not isinstance(span.label, str) or span.label not in schema.sentiment2id:
            errors.append(
                f"span {span.start}:{span.end}: unknown sentiment {span.label!r} "
                f"(schema has {', '.join(schema.sentiments)})"
            )
            continue
        if offsets is None:
            continue
        start, end = offsets
        name = span.name or _resolve_name(text, start, end, registry)
        figures.append(FigureLabel(name, text[start:end], start, end, span.label))
    kept, dup_warnings = _first_per_name(figures)
    warnings += dup_warnings
    warnings += [
        f"figure '{f.name}' is not in the registry" for f in kept if f.name not in registry
    ]
    return kept, errors, warnings


def _first_per_name(figures: list[FigureLabel]) -> tuple[list[FigureLabel], list[str]]:
    """Keep each canonical name's first mention (by offset), in the order given.

    Warns when a later mention of the same person carries another sentiment.
    """
    kept: dict[str, FigureLabel] = {}
    warnings = []
    for fig in sorted(figures, key=lambda f: (f.start, f.end)):
        first = kept.setdefault(fig.name, fig)
        if first is not fig and first.sentiment != fig.sentiment:
            warnings.append(
                f"'{fig.name}' labelled {first.sentiment} at {first.start}:{first.end} and "
                f"{fig.sentiment} at {fig.start}:{fig.end}; kept the first mention"
            )
    firsts = {id(f) for f in kept.values()}
    return [f for f in figures if id(f) in firsts], warnings


def assemble_paragraph(
    fields: dict[str, Any],
    frames: list[Any],
    spans: list[Span],
    schema: LabelSchema,
    registry: FigureRegistry,
) -> tuple[Paragraph | None, list[str], list[str]]:
    """Validate one imported record with the corpus rules; return it or the reasons it is invalid.

    ``fields`` holds id, story_id, source, text and any extra keys (kept as ``meta``).
    """
    text = fields.get("text")
    if not isinstance(text, str) or not text.strip():
        return None, ["no text" if text is None else "empty or non-string text"], []
    figures, errors, warnings = _figures(text, spans, schema, registry)
    errors += [
        f"unknown frame {f!r} (schema has {', '.join(schema.frame_names)})"
        for f in frames
        if not isinstance(f, str) or f not in schema.frame2id
    ]
    if errors:
        return None, errors, warnings
    record = {
        **fields,
        "frames": list(dict.fromkeys(frames)),
        "figures": [f.__dict__ for f in figures],
    }
    para, errs = _parse_record(record, schema)
    return para, errs, warnings


def span_problems(
    path: str, line: int, prefix: str, messages: list[str], severity: str
) -> list[Problem]:
    return [Problem(path, line, f"{prefix}{m}", severity) for m in messages]
