"""Exchange annotated paragraphs with Label Studio and doccano.

Label Studio
------------
:func:`labelstudio_config` builds the labelling interface from the label schema (never from
hard-coded names)::

    <View>
      <Text name="text" value="$text"/>
      <Choices name="frames" toName="text" choice="multiple"> one <Choice> per frame </Choices>
      <Labels name="sentiment" toName="text"> one <Label> per sentiment class </Labels>
      <TextArea name="figure" toName="text" perRegion="true" .../>
    </View>

A figure is one ``sentiment`` span (the mention, labelled with its sentiment). Its canonical name
travels as a **per-region TextArea**: a ``textarea`` result with ``from_name`` ``"figure"`` and
the *same result ``id``* as the span, ``value = {"start", "end", "text": [canonical name]}``. This
is the shape Label Studio itself produces for ``perRegion`` text areas, so annotators see and can
correct the name in the region panel, and the link survives a round trip through Label Studio.

:func:`export_labelstudio` writes tasks (``data`` = id, story_id, source, text and any extra
record keys), optionally with model ``predictions`` for pre-annotation. :func:`import_labelstudio`
reads a Label Studio JSON export back into :class:`~training.corpus.Paragraph` records.

Offsets are Python character offsets (code points), as Label Studio 1.x stores them. Exports
from older Label Studio versions counted UTF-16 code units; such spans are converted and reported
as a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from serving.figures import FigureRegistry
from serving.schema import LabelSchema
from training.corpus import (
    REQUIRED_FIELDS,
    FigureLabel,
    Paragraph,
    Problem,
    _parse_record,
    iter_jsonl,
)

TEXT_TAG = "text"
FRAMES_TAG = "frames"
SENTIMENT_TAG = "sentiment"
FIGURE_TAG = "figure"
DATA_FIELDS = ("id", "story_id", "source", "text")
_POSSESSIVES = ("'s", "’s")
_PALETTE = ("#d62728", "#7f7f7f", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")


# ---------------------------------------------------------------------------------------- config
def labelstudio_config(schema: LabelSchema) -> str:
    """Label Studio labelling config (XML) for ``schema``: frames, sentiment spans, figure names."""
    view = ET.Element("View")
    ET.SubElement(view, "Header", value="Frames (none, one or several)")
    ET.SubElement(view, "Text", name=TEXT_TAG, value="$text")
    frames = ET.SubElement(
        view, "Choices", name=FRAMES_TAG, toName=TEXT_TAG, choice="multiple", showInline="true"
    )
    for frame in schema.frames:
        ET.SubElement(frames, "Choice", value=frame.name, hint=frame.description)
    ET.SubElement(view, "Header", value="Sentiment toward each named person (select the mention)")
    labels = ET.SubElement(view, "Labels", name=SENTIMENT_TAG, toName=TEXT_TAG)
    for i, sentiment in enumerate(schema.sentiments):
        ET.SubElement(labels, "Label", value=sentiment, background=_PALETTE[i % len(_PALETTE)])
    region = ET.SubElement(view, "View", visibleWhen="region-selected")
    ET.SubElement(region, "Header", value="Canonical name of the selected person")
    ET.SubElement(
        region,
        "TextArea",
        name=FIGURE_TAG,
        toName=TEXT_TAG,
        perRegion="true",
        editable="true",
        maxSubmissions="1",
        placeholder="Canonical name, as in labels/figures.yaml",
    )
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------- export
def export_labelstudio(
    paragraphs: Sequence[Paragraph],
    schema: LabelSchema,
    predictions: Sequence[dict[str, Any]] | None = None,
    *,
    frame_threshold: float = 0.5,
) -> list[dict[str, Any]]:
    """Label Studio tasks for ``paragraphs``, pre-annotated with ``predictions`` when given.

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
        if predictions is not None:
            try:
                task["predictions"] = [_prediction(predictions[i], schema, frame_threshold)]
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


def _prediction(pred: dict[str, Any], schema: LabelSchema, threshold: float) -> dict[str, Any]:
    """One Label Studio prediction entry (model_version, score, result) from a predictor dict."""
    frames, confidences = _present_frames(pred["frames"], schema, threshold)
    result: list[dict[str, Any]] = [
        {
            "id": "frames",
            "from_name": FRAMES_TAG,
            "to_name": TEXT_TAG,
            "type": "choices",
            "value": {"choices": frames},
        }
    ]
    for i, fig in enumerate(pred["figures"]):
        if fig["sentiment"] not in schema.sentiment2id:
            raise ValueError(f"unknown sentiment '{fig['sentiment']}'")
        score = float((fig.get("scores") or {}).get(fig["sentiment"], 1.0))
        confidences.append(score)
        result.extend(_figure_results(f"fig{i}", fig, score))
    return {
        "model_version": str(pred["model_version"]),
        "score": round(min(confidences, default=1.0), 4),
        "result": result,
    }


def _present_frames(
    frames: dict[str, float] | list[Any], schema: LabelSchema, threshold: float
) -> tuple[list[str], list[float]]:
    """The present frames and the confidence of each yes/no frame decision."""
    decisions = _frame_decisions(frames, threshold)
    unknown = sorted(str(label) for label, _, _ in decisions if label not in schema.frame2id)
    if unknown:
        raise ValueError(f"unknown frame(s) {unknown} (schema has {schema.frame_names})")
    present = [label for label, _, yes in decisions if yes]
    confidences = [max(score, 1.0 - score) for _, score, _ in decisions]
    return present, confidences


def _frame_decisions(
    frames: dict[str, float] | list[Any], threshold: float
) -> list[tuple[str, float, bool]]:
    """``(label, score, present)`` for each frame of any accepted prediction shape."""
    if isinstance(frames, dict):
        return [(label, float(s), float(s) >= threshold) for label, s in frames.items()]
    out = []
    for item in frames:
        if isinstance(item, str):
            out.append((item, 1.0, True))
        else:
            score = float(item["score"])
            out.append((item["label"], score, bool(item.get("present", score >= threshold))))
    return out


def _figure_results(region_id: str, fig: dict[str, Any], score: float) -> list[dict[str, Any]]:
    """A sentiment span and its per-region canonical-name text area, linked by ``region_id``."""
    span = {"start": int(fig["start"]), "end": int(fig["end"])}
    common = {"id": region_id, "to_name": TEXT_TAG, "score": round(score, 4)}
    return [
        {
            **common,
            "from_name": SENTIMENT_TAG,
            "type": "labels",
            "value": {**span, "text": fig["mention"], "labels": [fig["sentiment"]]},
        },
        {
            **common,
            "from_name": FIGURE_TAG,
            "type": "textarea",
            "value": {**span, "text": [fig["name"]]},
        },
    ]


# ------------------------------------------------------------------------- shared import helpers
@dataclass
class _Span:
    """A labelled span as read from a tool's export, before validation."""

    start: Any
    end: Any
    label: Any
    surface: str | None = None
    name: str | None = None


def _locate(text: str, span: _Span) -> tuple[tuple[int, int] | None, list[str], list[str]]:
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
    text: str, spans: list[_Span], schema: LabelSchema, registry: FigureRegistry
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


def _assemble(
    fields: dict[str, Any],
    frames: list[Any],
    spans: list[_Span],
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


def _problems(
    path: str, line: int, prefix: str, messages: list[str], severity: str
) -> list[Problem]:
    return [Problem(path, line, f"{prefix}{m}", severity) for m in messages]


# ------------------------------------------------------------------------ Label Studio import
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
        problems += _problems(path, pos, prefix, errors, "error")
        problems += _problems(path, pos, prefix, warnings, "warning")
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
    para, errs, warns = _assemble(_task_fields(task, source_name), frames, spans, schema, registry)
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


def _read_results(result: Any) -> tuple[list[str], list[_Span], list[str], list[str]]:
    """Frames, sentiment spans (with names attached), errors and warnings of an annotation."""
    if not isinstance(result, list):
        return [], [], ["annotation 'result' is not a list"], []
    frames: list[str] = []
    spans: dict[str, _Span] = {}
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
        elif item.get("type") != "relation":
            warnings.append(f"result[{i}]: ignored {item.get('type')} from {item.get('from_name')}")
    warnings += _attach_names(spans, names)
    return frames, list(spans.values()), errors, warnings


def _labels_span(value: dict[str, Any]) -> tuple[_Span, str | None]:
    """A span from a ``labels`` value; an error unless it carries exactly one label."""
    labels = value.get("labels") or []
    label = labels[0] if labels else None
    span = _Span(value.get("start"), value.get("end"), label, surface=value.get("text"))
    if len(labels) != 1:
        return span, f"span {span.start}:{span.end} needs exactly one sentiment, has {labels}"
    return span, None


def _attach_names(
    spans: dict[str, _Span], names: list[tuple[str, dict[str, Any], str]]
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
        problems += _problems(str(path), lineno, "", errors, "error")
        problems += _problems(str(path), lineno, "", warnings, "warning")
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
    return _assemble(_doccano_fields(obj, source_name, lineno), frames, spans, schema, registry)


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


def _doccano_labels(obj: dict[str, Any]) -> tuple[list[Any], list[_Span], list[str]]:
    """Document labels (frames), spans and format errors of one doccano line."""
    frames: list[Any] = []
    spans: list[_Span] = []
    errors: list[str] = []
    items = list(obj.get("label") or obj.get("labels") or []) + list(obj.get("entities") or [])
    for item in items:
        if isinstance(item, str):
            frames.append(item)
        elif isinstance(item, list | tuple) and len(item) == 3:
            spans.append(_Span(item[0], item[1], item[2]))
        elif isinstance(item, dict) and {"start_offset", "end_offset", "label"} <= item.keys():
            spans.append(_Span(item["start_offset"], item["end_offset"], item["label"]))
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
