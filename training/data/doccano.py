"""doccano JSONL import (``label``/``labels``/``cats`` and ``entities`` spans)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serving.figures import FigureRegistry
from serving.schema import LabelSchema
from training.data.corpus import (
    Paragraph,
    Problem,
    iter_jsonl,
)
from training.data.spans import DATA_FIELDS, Span, assemble_paragraph, span_problems

# ----------------------------------------------------------------------------- doccano import
_DOCCANO_KEYS = {"id", "text", "label", "labels", "cats", "entities", "relations", "meta"}
_DOCCANO_SKIP = {"Comments", "comments"}


def import_doccano(
    path: str | Path,
    schema: LabelSchema,
    registry: FigureRegistry,
    source_name: str = "doccano",
) -> tuple[list[Paragraph], list[Problem]]:
    """Read a doccano JSONL export: one object per line, e.g.::

        {"id": 17, "text": "Mr Corbyn's aides ...", "story_id": "s1", "source": "written",
         "label": [[0, 9, "negative"], "blame_leadership"], "Comments": []}

    * ``text`` (required): the paragraph.
    * ``label`` (or ``labels``): a list mixing ``[start, end, label]`` spans, whose label must be
      a sentiment class, and plain strings, which are document labels and must be frames
      (doccano's sequence-labelling and text-classification exports respectively).
    * ``entities`` (optional): more spans, as ``[start, end, label]`` or doccano's
      ``{"start_offset", "end_offset", "label"}`` objects.
    * ``cats`` (optional): document labels as a list of frames, or ``{frame: true/score}``
      (present when true or at least 0.5).
    * ``id``/``story_id``/``source``: string values at top level or in ``meta``; doccano's own
      integer ``id`` becomes ``doccano-<id>``. ``story_id`` defaults to the id, ``source`` to
      ``source_name``. Other keys are kept as extra record keys (``Comments`` is dropped).

    A span's canonical name is resolved through the registry, else its surface. Problems carry
    the file and line.
    """
    path = Path(path)
    if not path.is_file():
        return [], [Problem(str(path), 0, "file not found")]
    paragraphs: list[Paragraph] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for lineno, obj, err in iter_jsonl(path):
        if err:
            problems.append(Problem(str(path), lineno, err))
            continue
        para, errors, warnings = _doccano_record(obj, schema, registry, source_name, lineno)
        if para is not None and para.id in seen:
            errors = [f"duplicate id '{para.id}' (first at line {seen[para.id]})"]
        problems += span_problems(str(path), lineno, "", errors, "error")
        problems += span_problems(str(path), lineno, "", warnings, "warning")
        if para is not None and not errors:
            seen[para.id] = lineno
            paragraphs.append(para)
    return paragraphs, problems


def _doccano_record(
    obj: Any, schema: LabelSchema, registry: FigureRegistry, source_name: str, lineno: int
) -> tuple[Paragraph | None, list[str], list[str]]:
    """One doccano line to a paragraph."""
    if not isinstance(obj, dict):
        return None, [f"expected a JSON object, got {type(obj).__name__}"], []
    frames, spans, errors = _doccano_labels(obj)
    if errors:
        return None, errors, []
    return assemble_paragraph(
        _doccano_fields(obj, source_name, lineno), frames, spans, schema, registry
    )


def _doccano_fields(obj: dict[str, Any], source_name: str, lineno: int) -> dict[str, Any]:
    """Record fields: our string ids from the line or its ``meta``, extras kept."""
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    merged = {**meta, **{k: v for k, v in obj.items() if k not in _DOCCANO_KEYS | _DOCCANO_SKIP}}

    def pick(key: str) -> str | None:
        value = obj.get(key) if isinstance(obj.get(key), str) else meta.get(key)
        return value if isinstance(value, str) and value else None

    pid = pick("id") or f"doccano-{obj.get('id', lineno)}"
    return {
        **{k: v for k, v in merged.items() if k not in DATA_FIELDS},
        "id": pid,
        "story_id": pick("story_id") or pid,
        "source": pick("source") or source_name,
        "text": obj.get("text"),
    }


def _doccano_labels(obj: dict[str, Any]) -> tuple[list[Any], list[Span], list[str]]:
    """Document labels (frames), spans and format errors of one doccano line."""
    frames: list[Any] = []
    spans: list[Span] = []
    errors: list[str] = []
    items = list(obj.get("label") or obj.get("labels") or []) + list(obj.get("entities") or [])
    for item in items:
        if isinstance(item, str):
            frames.append(item)
        elif isinstance(item, list | tuple) and len(item) == 3:
            spans.append(Span(item[0], item[1], item[2]))
        elif isinstance(item, dict) and {"start_offset", "end_offset", "label"} <= item.keys():
            spans.append(Span(item["start_offset"], item["end_offset"], item["label"]))
        else:
            errors.append(f"label {item!r} is neither a [start, end, label] span nor a string")
    cats = obj.get("cats") or []
    if isinstance(cats, dict):
        frames += [k for k, v in cats.items() if v is True or (_is_number(v) and v >= 0.5)]
    else:
        frames += list(cats)
    return frames, spans, errors


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
