"""Label Studio: task export and annotation import.

The labelling config and the prediction format live in :mod:`serving.labelstudio` (shared with
the service's ML backend); ``labelstudio_config`` is re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from serving.figures import FigureRegistry
from serving.labelstudio import (
    EVIDENCE_TAG,
    FIGURE_TAG,
    FRAMES_TAG,
    SENTIMENT_TAG,
    labelstudio_config,
    ls_prediction,
)
from serving.schema import LabelSchema
from training.data.corpus import (
    REQUIRED_FIELDS,
    Paragraph,
    Problem,
)
from training.data.spans import DATA_FIELDS, Span, assemble_paragraph, span_problems

__all__ = ["export_labelstudio", "import_labelstudio", "labels_as_prediction", "labelstudio_config"]


def export_labelstudio(
    paragraphs: Sequence[Paragraph],
    schema: LabelSchema,
    predictions: Sequence[dict[str, Any]] | None = None,
    *,
    frame_threshold: float = 0.5,
    with_labels: bool = True,
) -> list[dict[str, Any]]:
    """Label Studio tasks for ``paragraphs``, pre-annotated with ``predictions`` when given.

    ``with_labels``: a paragraph's existing labels travel as a completed annotation, so a team
    can review and correct them in Label Studio and import them back unchanged (export then
    import is the identity on the corpus's records).

    ``predictions`` holds one dict per paragraph, as ``ParagraphResult.to_dict()`` returns it::

        {"model_version": "...", "frames": [{"label", "score", "present"}, ...],
         "figures": [{"name", "mention", "start", "end", "sentiment", "scores": {class: p}}]}

    ``frames`` may also be ``{frame: score}`` or a list of the present frame names. A frame is
    pre-selected when its ``present`` flag is set (the model's own tuned threshold), else when its
    score is at least ``frame_threshold``. The prediction ``score`` is the model's *least* confident
    decision (frame yes/no or figure sentiment), so sorting tasks by it in Label Studio puts the
    doubtful ones first. Raises ``ValueError`` on a count mismatch or labels outside ``schema``.
    """
    if predictions is not None and len(predictions) != len(paragraphs):
        raise ValueError(
            f"{len(predictions)} predictions for {len(paragraphs)} paragraphs: need one each"
        )
    tasks = []
    for i, para in enumerate(paragraphs):
        task: dict[str, Any] = {"data": _task_data(para)}
        if with_labels:
            gold = ls_prediction(labels_as_prediction(para), schema, frame_threshold)
            task["annotations"] = [{"result": gold["result"], "was_cancelled": False}]
        if predictions is not None:
            try:
                task["predictions"] = [ls_prediction(predictions[i], schema, frame_threshold)]
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"prediction for paragraph '{para.id}': {exc}") from exc
        tasks.append(task)
    return tasks


def labels_as_prediction(paragraph: Paragraph, model_version: str = "gold") -> dict[str, Any]:
    """A paragraph's own labels in the predictor's output shape (for review in Label Studio)."""
    return {
        "model_version": model_version,
        "frames": {name: 1.0 for name in paragraph.frames},
        "figures": [{**fig.__dict__, "scores": {fig.sentiment: 1.0}} for fig in paragraph.figures],
    }


def write_paragraphs(paragraphs: Iterable[Paragraph], path: str | Path) -> int:
    """Write paragraphs as corpus JSONL (``Paragraph.to_dict()`` per line); return the count."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for para in paragraphs:
            fh.write(json.dumps(para.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def _task_data(para: Paragraph) -> dict[str, Any]:
    """Task ``data``: id, story_id, source, text, plus extra record keys (genre, ...)."""
    extra = {k: v for k, v in para.meta.items() if k not in REQUIRED_FIELDS}
    return {
        "id": para.id,
        "story_id": para.story_id,
        "source": para.source,
        **extra,
        "text": para.text,
    }


def import_labelstudio(
    export: str | Path | list[Any],
    schema: LabelSchema,
    registry: FigureRegistry,
    source_name: str = "labelstudio",
) -> tuple[list[Paragraph], list[Problem]]:
    """Read a Label Studio JSON export (a file, or the decoded list of tasks).

    For each task the **last non-cancelled** annotation is used; a task with none is reported, not
    dropped silently. Frames come from the ``frames`` choices, figures from the ``sentiment``
    spans; a span's canonical name is its per-region ``figure`` text, else resolved through the
    registry, else the surface. Task ``data`` supplies id, story_id (default: id) and source
    (default: ``source_name``); other data keys are kept as extra record keys.

    Every problem names the file and, as its line number, the task's 1-based position in the
    export, with the task id in the message. Records with errors are left out; warnings (span
    offsets converted, unregistered name, a second mention labelled differently) keep the record.
    """
    tasks, path, problems = _load_export(export)
    paragraphs: list[Paragraph] = []
    seen: dict[str, int] = {}
    for pos, task in enumerate(tasks, start=1):
        prefix = f"task id {task.get('id', '?')}: " if isinstance(task, dict) else ""
        para, errors, warnings = _task_paragraph(task, schema, registry, source_name)
        if para is not None and para.id in seen:
            errors = [f"duplicate id '{para.id}' (first at task {seen[para.id]})"]
        problems += span_problems(path, pos, prefix, errors, "error")
        problems += span_problems(path, pos, prefix, warnings, "warning")
        if para is not None and not errors:
            seen[para.id] = pos
            paragraphs.append(para)
    return paragraphs, problems


def _load_export(export: str | Path | list[Any]) -> tuple[list[Any], str, list[Problem]]:
    """The export's task list, a name for it, and any file-level problem."""
    if not isinstance(export, str | Path):
        name = "<labelstudio export>"
        data: Any = export
    else:
        name = str(export)
        try:
            data = json.loads(Path(export).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [], name, [Problem(name, 0, "file not found")]
        except UnicodeDecodeError as exc:
            return [], name, [Problem(name, 0, f"file is not valid UTF-8 ({exc.reason})")]
        except json.JSONDecodeError as exc:
            return [], name, [Problem(name, exc.lineno, f"invalid JSON: {exc.msg}")]
    if not isinstance(data, list):
        kind = type(data).__name__
        msg = f"expected a Label Studio JSON export (a list of tasks), got a JSON {kind}"
        return [], name, [Problem(name, 0, msg)]
    return data, name, []


def _task_paragraph(
    task: Any, schema: LabelSchema, registry: FigureRegistry, source_name: str
) -> tuple[Paragraph | None, list[str], list[str]]:
    """One task to a paragraph, via its last non-cancelled annotation."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        return None, ["not a Label Studio task (an object with 'data')"], []
    annotation = _final_annotation(task)
    if annotation is None:
        return None, ["no completed annotation (none, or all cancelled/skipped)"], []
    frames, spans, errors, warnings = _read_results(annotation.get("result"))
    if errors:
        return None, errors, warnings
    para, errs, warns = assemble_paragraph(
        _task_fields(task, source_name), frames, spans, schema, registry
    )
    return para, errs, warnings + warns


def _final_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The last annotation (in export order) that was not cancelled, or None."""
    annotations = task.get("annotations") or []
    done = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    return done[-1] if done else None


def _task_fields(task: dict[str, Any], source_name: str) -> dict[str, Any]:
    """Record fields from task data: id (default ``ls-<task id>``), story_id, source, extras."""
    data = task["data"]
    pid = data.get("id")
    pid = str(pid) if pid not in (None, "") else f"ls-{task.get('id', '?')}"
    return {
        **{k: v for k, v in data.items() if k not in DATA_FIELDS},
        "id": pid,
        "story_id": str(data.get("story_id") or pid),
        "source": str(data.get("source") or source_name),
        "text": data.get("text"),
    }


def _read_results(result: Any) -> tuple[list[str], list[Span], list[str], list[str]]:
    """Frames, sentiment spans (with names attached), errors and warnings of an annotation."""
    if not isinstance(result, list):
        return [], [], ["annotation 'result' is not a list"], []
    frames: list[str] = []
    spans: dict[str, Span] = {}
    names: list[tuple[str, dict[str, Any], str]] = []
    errors: list[str] = []
    warnings: list[str] = []
    for i, item in enumerate(result):
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            errors.append(f"result[{i}] is not an object with a 'value'")
            continue
        kind, value = (item.get("from_name"), item.get("type")), item["value"]
        if kind == (FRAMES_TAG, "choices"):
            frames += list(value.get("choices") or [])
        elif kind == (SENTIMENT_TAG, "labels"):
            span, err = _labels_span(value)
            if err:
                errors.append(f"result[{i}]: {err}")
            else:
                spans[str(item.get("id", f"#{i}"))] = span
        elif kind == (FIGURE_TAG, "textarea"):
            names.append((str(item.get("id", f"#{i}")), value, f"result[{i}]"))
        elif kind == (EVIDENCE_TAG, "labels"):
            continue  # evidence highlights guide the reviewer; the corpus does not store them
        elif item.get("type") != "relation":
            warnings.append(f"result[{i}]: ignored {item.get('type')} from {item.get('from_name')}")
    warnings += _attach_names(spans, names)
    return frames, list(spans.values()), errors, warnings


def _labels_span(value: dict[str, Any]) -> tuple[Span, str | None]:
    """A span from a ``labels`` value; an error unless it carries exactly one label."""
    labels = value.get("labels") or []
    label = labels[0] if labels else None
    span = Span(value.get("start"), value.get("end"), label, surface=value.get("text"))
    if len(labels) != 1:
        return span, f"span {span.start}:{span.end} needs exactly one sentiment, has {labels}"
    return span, None


def _attach_names(
    spans: dict[str, Span], names: list[tuple[str, dict[str, Any], str]]
) -> list[str]:
    """Give spans their canonical names from per-region text areas (same id, else same offsets)."""
    warnings = []
    for region_id, value, where in names:
        texts = value.get("text")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        name = next((t.strip() for t in texts if isinstance(t, str) and t.strip()), None)
        span = spans.get(region_id) or next(
            (
                s
                for s in spans.values()
                if (s.start, s.end) == (value.get("start"), value.get("end"))
            ),
            None,
        )
        if span is None:
            warnings.append(f"{where}: figure name {name!r} is not attached to a sentiment span")
        elif name:
            span.name = name
    return warnings
