"""The one loader for annotated paragraphs (JSONL), its validator, and corpus statistics.

Record format, one JSON object per line::

    {"id": "w1-s01-p01", "story_id": "w1-s01", "source": "written", "genre": "news",
     "text": "...", "frames": ["blame_leadership"],
     "figures": [{"name": "Jeremy Corbyn", "mention": "Mr Corbyn", "start": 10, "end": 19,
                  "sentiment": "negative"}]}

``genre`` and any other extra keys are optional and kept in ``Paragraph.meta``. Offsets are Python
character offsets into ``text`` with ``text[start:end] == mention``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving.figures import FigureRegistry
from serving.schema import LabelSchema, labels_dir

REQUIRED_FIELDS = ("id", "story_id", "source", "text", "frames", "figures")
FIGURE_FIELDS = ("name", "mention", "start", "end", "sentiment")


@dataclass(frozen=True)
class FigureLabel:
    """A named person in a paragraph and the sentiment expressed toward them."""

    name: str
    mention: str
    start: int
    end: int
    sentiment: str


@dataclass(frozen=True)
class Paragraph:
    """One annotated paragraph."""

    id: str
    story_id: str
    source: str
    text: str
    frames: tuple[str, ...] = ()
    figures: tuple[FigureLabel, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "story_id": self.story_id,
            "source": self.source,
            **self.meta,
            "text": self.text,
            "frames": list(self.frames),
            "figures": [f.__dict__ for f in self.figures],
        }


@dataclass(frozen=True)
class Problem:
    """A validation finding located at ``path:line``."""

    path: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


class CorpusError(ValueError):
    """Raised when annotated data cannot be loaded; lists every problem with file and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in annotated data:\n{shown}{more}")


def default_corpus_paths() -> list[Path]:
    """All JSONL files under ``labels/corpus/``."""
    return [labels_dir() / "corpus"]


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every ``*.jsonl`` below each directory (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.jsonl")))
        else:
            out.append(p)
    return out


def _parse_record(obj: Any, schema: LabelSchema) -> tuple[Paragraph | None, list[str]]:
    """Turn one decoded JSON value into a Paragraph, or return the reasons it is invalid."""
    if not isinstance(obj, dict):
        return None, [f"expected a JSON object, got {type(obj).__name__}"]
    errors = [f"missing field '{k}'" for k in REQUIRED_FIELDS if k not in obj]
    if errors:
        return None, errors
    text = obj["text"]
    if not isinstance(text, str) or not text.strip():
        errors.append("empty text" if isinstance(text, str) else "text is not a string")
        text = ""
    for key in ("id", "story_id", "source"):
        if not isinstance(obj[key], str) or not obj[key].strip():
            errors.append(f"'{key}' must be a non-empty string")
    frames = obj["frames"]
    if not isinstance(frames, list):
        errors.append("'frames' must be a list")
        frames = []
    for fr in frames:
        if not isinstance(fr, str) or fr not in schema.frame2id:
            errors.append(f"unknown frame '{fr}' (schema has {', '.join(schema.frame_names)})")
    if len(set(map(str, frames))) != len(frames):
        errors.append("a frame is listed twice")
    figures: list[FigureLabel] = []
    raw_figs = obj["figures"]
    if not isinstance(raw_figs, list):
        errors.append("'figures' must be a list")
        raw_figs = []
    for i, fig in enumerate(raw_figs):
        where = f"figures[{i}]"
        if not isinstance(fig, dict):
            errors.append(f"{where}: expected an object")
            continue
        missing = [k for k in FIGURE_FIELDS if k not in fig]
        if missing:
            errors.append(f"{where}: missing {', '.join(missing)}")
            continue
        if not isinstance(fig["sentiment"], str) or fig["sentiment"] not in schema.sentiment2id:
            errors.append(
                f"{where}: unknown sentiment '{fig['sentiment']}' "
                f"(schema has {', '.join(schema.sentiments)})"
            )
        start, end = fig["start"], fig["end"]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            errors.append(f"{where}: start/end must be integers")
            continue
        if not (0 <= start < end <= len(text)) or text[start:end] != fig["mention"]:
            errors.append(
                f"{where}: mention {fig['mention']!r} is not at offsets {start}:{end} "
                f"(text there is {text[start:end]!r})"
            )
        figures.append(
            FigureLabel(str(fig["name"]), str(fig["mention"]), start, end, str(fig["sentiment"]))
        )
    if errors:
        return None, errors
    meta = {k: v for k, v in obj.items() if k not in REQUIRED_FIELDS}
    para = Paragraph(
        id=obj["id"],
        story_id=obj["story_id"],
        source=obj["source"],
        text=text,
        frames=tuple(frames),
        figures=tuple(figures),
        meta=meta,
    )
    return para, []


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any | None, str | None]]:
    """Yield ``(line_number, value, error)`` for each non-blank line of a JSONL file."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                # A byte-order mark may open a file written by Windows tools.
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, None, f"line is not valid UTF-8 ({exc.reason})"
                continue
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield lineno, None, f"invalid JSON: {exc.msg} at column {exc.colno}"


def read_corpus(
    paths: Iterable[str | Path],
    schema: LabelSchema,
    registry: FigureRegistry | None = None,
) -> tuple[list[Paragraph], list[Problem]]:
    """Read annotated files and return the valid paragraphs plus every problem found.

    Errors: unreadable file, invalid JSON, wrong field types, unknown frame or sentiment, duplicate
    id, mention not at its offsets, empty text. Warnings (when a registry is given): a figure name
    that is not registered.
    """
    paragraphs: list[Paragraph] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    files = expand_paths(paths)
    if not files:
        problems.append(Problem(", ".join(map(str, paths)), 0, "no annotated files found"))
    for path in files:
        if not path.is_file():
            problems.append(Problem(str(path), 0, "file not found"))
            continue
        for lineno, obj, err in iter_jsonl(path):
            if err:
                problems.append(Problem(str(path), lineno, err))
                continue
            para, errors = _parse_record(obj, schema)
            problems.extend(Problem(str(path), lineno, e) for e in errors)
            if para is None:
                continue
            if para.id in seen:
                problems.append(
                    Problem(
                        str(path), lineno, f"duplicate id '{para.id}' (first at {seen[para.id]})"
                    )
                )
                continue
            seen[para.id] = f"{path}:{lineno}"
            if registry is not None:
                problems.extend(
                    Problem(
                        str(path), lineno, f"figure '{f.name}' is not in the registry", "warning"
                    )
                    for f in para.figures
                    if f.name not in registry
                )
            paragraphs.append(para)
    return paragraphs, problems


def load_corpus(paths: Iterable[str | Path], schema: LabelSchema) -> list[Paragraph]:
    """Load annotated paragraphs, raising :class:`CorpusError` (file and line) on any error."""
    paragraphs, problems = read_corpus(paths, schema)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CorpusError(errors)
    return paragraphs


def corpus_hash(paragraphs: Iterable[Paragraph]) -> str:
    """Content hash of a training set (order-independent), stored with every model."""
    digests = sorted(
        hashlib.sha256(json.dumps(p.to_dict(), sort_keys=True).encode()).hexdigest()
        for p in paragraphs
    )
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


def corpus_stats(paragraphs: list[Paragraph], schema: LabelSchema) -> dict[str, Any]:
    """Coverage numbers: per frame, per sentiment, per source and genre, per figure, stories."""
    frame_counts = Counter(f for p in paragraphs for f in p.frames)
    sentiments = Counter(f.sentiment for p in paragraphs for f in p.figures)
    n_pairs = sum(sentiments.values())
    figures = Counter(f.name for p in paragraphs for f in p.figures)
    stories = Counter(p.story_id for p in paragraphs)
    words = [len(p.text.split()) for p in paragraphs]
    return {
        "paragraphs": len(paragraphs),
        "stories": len(stories),
        "story_size": {
            "min": min(stories.values(), default=0),
            "max": max(stories.values(), default=0),
        },
        "words": {
            "min": min(words, default=0),
            "max": max(words, default=0),
            "mean": round(sum(words) / len(words), 1) if words else 0,
        },
        "frames": {name: frame_counts.get(name, 0) for name in schema.frame_names},
        "no_frame": sum(1 for p in paragraphs if not p.frames),
        "multi_frame": sum(1 for p in paragraphs if len(p.frames) >= 2),
        "figure_pairs": n_pairs,
        "sentiments": {
            s: {
                "count": sentiments.get(s, 0),
                "share": round(sentiments.get(s, 0) / n_pairs, 3) if n_pairs else 0.0,
            }
            for s in schema.sentiments
        },
        "distinct_figures": len(figures),
        "top_figures": figures.most_common(25),
        "sources": dict(Counter(p.source for p in paragraphs).most_common()),
        "genres": dict(Counter(str(p.meta.get("genre", "-")) for p in paragraphs).most_common()),
    }
