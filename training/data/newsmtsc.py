"""Read NewsMTSC (Hamborg & Donnay, EACL 2021) as extra figure-sentiment paragraphs.

NewsMTSC is JSONL, one sentence per line::

    {"primary_gid": "allsides_1192_476_17_— Judge Neil M. Gorsuch_126_139",
     "sentence_normalized": "...",
     "targets": [{"Input.gid": "...", "from": 126, "to": 139, "mention": "Judge Gorsuch",
                  "polarity": 6.0, "further_mentions": [...]}]}

``from``/``to`` are Python character offsets (``to`` exclusive) into ``sentence_normalized``;
polarity 2.0/4.0/6.0 is negative/neutral/positive. Sentences carry no frame labels, so every
paragraph is marked ``frames_annotated: False``. The data is never copied into this repository.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from serving.schema import LabelSchema
from training.data.corpus import FigureLabel, Paragraph, iter_jsonl

log = logging.getLogger(__name__)

SOURCE = "newsmtsc"
SPLITS = ("train", "dev_rw", "dev_mt", "test_rw", "test_mt")
POLARITY_CODES = (2.0, 4.0, 6.0)
"""NewsMTSC's polarity codes, from most negative to most positive; they map by position onto a
schema with three sentiment classes listed in that order (as labels/schema.yaml does)."""
# Article part of a primary_gid: "allsides_<a>_<b>" or "polusa_v1_<article>_<n>", then
# "_<sentence>_<target>_<from>_<to>".
_ARTICLE = re.compile(r"^(allsides_\d+_\d+|polusa_v1_\d+_-?\d+)_\d+_")


def newsmtsc_splits(directory: str | Path) -> dict[str, Path]:
    """The NewsMTSC split files present in ``directory``, by split name, in canonical order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"NewsMTSC folder not found: {directory}")
    files = {name: directory / f"{name}.jsonl" for name in SPLITS}
    return {name: path for name, path in files.items() if path.is_file()}


def read_newsmtsc(path: str | Path, schema: LabelSchema) -> list[Paragraph]:
    """Read a NewsMTSC split (a ``.jsonl`` file, or a folder: its ``train.jsonl``).

    Each sentence becomes a paragraph (id = ``primary_gid``, story_id = the article part of it,
    source ``newsmtsc``, no frames, ``meta = {"frames_annotated": False, "split": <file stem>}``)
    with one figure per target, named by its mention surface. Targets whose offsets do not match
    the text are skipped, and sentences left with no target are dropped; both are counted in a
    log warning (see :func:`read_newsmtsc_counted` to get the counts).

    Raises ``FileNotFoundError`` naming the path, and ``ValueError`` (with file and line) when
    the schema lacks the three sentiment classes or a line is not NewsMTSC.
    """
    paragraphs, skipped, dropped = read_newsmtsc_counted(path, schema)
    if skipped or dropped:
        log.warning(
            "%s: skipped %d target(s) whose offsets do not match the text, "
            "dropped %d sentence(s) left without a target",
            path,
            skipped,
            dropped,
        )
    return paragraphs


def read_newsmtsc_counted(
    path: str | Path, schema: LabelSchema
) -> tuple[list[Paragraph], int, int]:
    """Like :func:`read_newsmtsc`; returns ``(paragraphs, skipped_targets, dropped_sentences)``."""
    file = _split_file(Path(path))
    sentiments = _sentiment_map(schema)
    paragraphs: list[Paragraph] = []
    skipped = dropped = 0
    for lineno, obj, err in iter_jsonl(file):
        where = f"{file}:{lineno}"
        if err:
            raise ValueError(f"{where}: {err}")
        para, bad = _sentence(obj, sentiments, file.stem, where)
        skipped += bad
        if para.figures:
            paragraphs.append(para)
        else:
            dropped += 1
    return paragraphs, skipped, dropped


def _split_file(path: Path) -> Path:
    """The JSONL file to read: ``path`` itself, or ``train.jsonl`` inside a folder."""
    file = path / "train.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"NewsMTSC file not found: {file}")
    return file


def _sentiment_map(schema: LabelSchema) -> dict[float, str]:
    """NewsMTSC polarity codes to schema sentiment names, by position (negative to positive)."""
    if len(schema.sentiments) != len(POLARITY_CODES):
        raise ValueError(
            f"NewsMTSC has {len(POLARITY_CODES)} polarity classes (negative, neutral, positive); "
            f"schema '{schema.name}' has {list(schema.sentiments)}"
        )
    return dict(zip(POLARITY_CODES, schema.sentiments, strict=True))


def _sentence(
    obj: Any, sentiments: dict[float, str], split: str, where: str
) -> tuple[Paragraph, int]:
    """One NewsMTSC line to a paragraph, and the number of targets skipped for bad offsets."""
    try:
        gid, text, targets = obj["primary_gid"], obj["sentence_normalized"], obj["targets"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{where}: not a NewsMTSC record (missing {exc})") from exc
    figures = [_target(t, text, sentiments, where) for t in targets]
    kept = tuple(f for f in figures if f is not None)
    para = Paragraph(
        id=str(gid),
        story_id=story_id(str(gid)),
        source=SOURCE,
        text=text,
        frames=(),
        figures=kept,
        meta={"frames_annotated": False, "split": split},
    )
    return para, len(figures) - len(kept)


def _target(target: Any, text: str, sentiments: dict[float, str], where: str) -> FigureLabel | None:
    """A figure for one target, or None when its offsets do not match the text."""
    try:
        start, end, mention = target["from"], target["to"], target["mention"]
        polarity = float(target["polarity"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: malformed target {target!r} ({exc})") from exc
    if polarity not in sentiments:
        raise ValueError(f"{where}: unknown polarity {polarity} (expected 2.0, 4.0 or 6.0)")
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end))
    if not ints or not (0 <= start < end <= len(text)) or text[start:end] != mention:
        return None
    return FigureLabel(mention, mention, start, end, sentiments[polarity])


def story_id(primary_gid: str) -> str:
    """The article a NewsMTSC sentence comes from (its ``primary_gid`` if the form is unknown)."""
    m = _ARTICLE.match(primary_gid)
    return f"{SOURCE}:{m.group(1)}" if m else primary_gid
