"""Streaming readers for batch labelling: JSONL, CSV, Parquet and .txt articles.

Every reader is a generator of :class:`Item` rows, so memory does not grow with the input. A missing
id becomes ``<file>:<line>`` (JSONL), ``<file>:<row>`` (CSV, Parquet) or ``<file stem>:p<index>``
(txt).
Bad rows are yielded with an ``error`` code and a ``reason`` instead of being dropped.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.predictors.factory import BACKENDS
from serving.text import MAX_PARAGRAPH_CHARS, split_paragraphs
from training.data.corpus import iter_jsonl

KINDS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet", ".txt": "txt"}
FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}
PARQUET_READ_ROWS = 4096  # rows per Parquet record batch read


class LabelError(ValueError):
    """A problem with the request (options, an existing run), reported without a traceback."""


@dataclass
class LabelOptions:
    """Everything ``label_corpus`` needs besides inputs and output (CLI flags, one for one)."""

    model: str = "auto"
    engine: str = "local"
    ray_address: str | None = None
    ray_actors: int | None = None  # default: one per CPU of the cluster
    text_field: str = "text"
    id_field: str = "id"
    doc_field: str = "doc_id"
    """Rows that share this field's value are consecutive paragraphs of one document: later ones
    resolve people named in earlier ones (within a window of ``chunk_size`` rows). A ``.txt``
    file is one document."""
    batch_size: int = 32
    chunk_size: int = 2048
    max_chars: int = MAX_PARAGRAPH_CHARS
    resume: bool = False
    overwrite: bool = False
    backend: str = "auto"  # the fastest measured at the start of a run (serving.predictors.probe)
    format: str | None = None  # jsonl or parquet; default from the output suffix
    progress: bool = True
    evidence: bool = False
    """Add the sentences carrying each present frame and each figure (:mod:`serving.evidence`)."""

    def check(self) -> None:
        """Raise ``LabelError`` for values no run can use."""
        if self.engine not in ("local", "ray"):
            raise LabelError(f"unknown engine {self.engine!r}: expected local or ray")
        if self.backend not in BACKENDS:
            raise LabelError(
                f"unknown backend {self.backend!r}: expected one of {', '.join(BACKENDS)}"
            )
        if self.format not in (None, *FORMATS.values()):
            raise LabelError(f"unknown format {self.format!r}: expected jsonl or parquet")
        for name in ("batch_size", "chunk_size", "max_chars", "ray_actors"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise LabelError(f"{name} must be at least 1")
        if self.resume and self.overwrite:
            raise LabelError("--resume and --overwrite exclude each other")


@dataclass(frozen=True)
class Source:
    """One input file: its path, how rows name it (``file``), how default ids name it (``key``)."""

    path: Path
    name: str
    key: str
    kind: str


@dataclass
class Item:
    """One input paragraph (``text`` set) or one bad row (``error`` code and ``reason`` set)."""

    file: str
    line: int | None
    row: int | None
    id: str | None = None
    text: str | None = None
    error: str | None = None
    reason: str | None = None
    doc: str | None = None


# ----------------------------------------------------------------------------------- inputs
def discover(inputs: Iterable[str | Path], exclude: Iterable[Path] = ()) -> list[Source]:
    """Input files in order: files as given, folders recursively (sorted), each file once.

    ``exclude`` (resolved paths and folders) keeps a run from reading its own output when the
    output lies inside an input folder.
    """
    skip = [Path(p).resolve() for p in exclude]
    seen: set[Path] = set()
    out: list[Source] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = [
                (f, f.relative_to(path).as_posix())
                for f in sorted(path.rglob("*"))
                if f.suffix.lower() in KINDS
                and f.is_file()
                and not any(part.startswith(".") for part in f.relative_to(path).parts)
            ]
        elif path.is_file():
            if path.suffix.lower() not in KINDS:
                raise LabelError(f"{path}: unsupported file type; expected {', '.join(KINDS)}")
            found = [(path, path.name)]
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
        for f, key in found:
            resolved = f.resolve()
            if resolved in seen or any(resolved == s or s in resolved.parents for s in skip):
                continue
            seen.add(resolved)
            # Absolute: Ray read tasks may run in another working directory.
            out.append(Source(f.absolute(), str(f), key, KINDS[f.suffix.lower()]))
    return out


def skipped_files(inputs: Iterable[str | Path]) -> int:
    """Files inside the input folders that :func:`discover` does not read (other suffixes)."""
    return sum(
        1
        for given in map(Path, inputs)
        if given.is_dir()
        for f in given.rglob("*")
        if f.is_file() and f.suffix.lower() not in KINDS
    )


def _is_utf8(value: str) -> bool:
    """False for strings holding undecodable bytes (surrogate escapes) or lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _item(
    src: Source,
    line: int | None,
    row: int | None,
    text: Any,
    present: bool,
    pid: Any,
    default_id: str,
    opts: LabelOptions,
    doc: Any = None,
) -> Item:
    """Validate one row's text and id into an ``Item`` (an error ``Item`` when the text is bad)."""
    if pid is None or pid == "" or (isinstance(pid, str) and not _is_utf8(pid)):
        pid = default_id
    item = Item(src.name, line, row, id=str(pid))
    if doc is not None and doc != "" and (not isinstance(doc, str) or _is_utf8(doc)):
        item.doc = str(doc)
    name = opts.text_field
    if not present:
        item.error, item.reason = "missing_text", f"no '{name}' field"
    elif text is None:
        item.error, item.reason = "missing_text", f"'{name}' is null"
    elif not isinstance(text, str):
        item.error, item.reason = "not_string", f"'{name}' is {type(text).__name__}, not a string"
    elif not _is_utf8(text):
        item.error, item.reason = "undecodable", "text is not valid UTF-8"
    elif not text.strip():
        item.error, item.reason = "empty_text", "text is empty"
    elif len(text) > opts.max_chars:
        item.error = "oversize"
        item.reason = f"text has {len(text)} characters, over the limit of {opts.max_chars}"
    else:
        item.text = text
    return item


def _bad(src: Source, line: int | None, row: int | None, error: str, reason: str) -> Item:
    return Item(src.name, line, row, error=error, reason=reason)


def read_jsonl(src: Source, opts: LabelOptions) -> Iterator[Item]:
    """One item per non-blank line."""
    for lineno, value, error in iter_jsonl(src.path):
        if error is not None:
            code = "undecodable" if "UTF-8" in error else "invalid_json"
            yield _bad(src, lineno, None, code, error)
        elif not isinstance(value, dict):
            yield _bad(src, lineno, None, "not_object", f"a JSON {type(value).__name__}")
        else:
            yield _item(
                src,
                lineno,
                None,
                value.get(opts.text_field),
                opts.text_field in value,
                value.get(opts.id_field),
                f"{src.key}:{lineno}",
                opts,
                value.get(opts.doc_field),
            )


def read_csv(src: Source, opts: LabelOptions) -> Iterator[Item]:
    """One item per data row (blank lines skipped); ``line`` is where the row ends.

    A quote opened and never closed would make csv read every later line into one cell; such a
    record is reported as an ``unterminated_quote`` row at the line where it starts, and reading
    resumes on the next line, so the rows after it are still labelled.
    """
    # Long cells are judged by --max-chars with a clear reason, not by csv's 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # surrogateescape: a row with undecodable bytes becomes one bad row instead of ending the file.
    with src.path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            return
        header[0] = header[0].removeprefix("\ufeff")
        if opts.text_field not in header:
            yield _bad(src, 1, None, "missing_column", f"no '{opts.text_field}' column")
            return
        ti = header.index(opts.text_field)
        ii = header.index(opts.id_field) if opts.id_field in header else None
        di = header.index(opts.doc_field) if opts.doc_field in header else None
        row = 0
        while True:
            start = lines.number + 1
            lines.fed.clear()
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield _bad(src, lines.number, row, "invalid_csv", str(exc))
                row += 1
                continue
            if lines.at_eof and len(lines.fed) > 1 and "".join(lines.fed).count('"') % 2:
                yield _bad(
                    src,
                    start,
                    row,
                    "unterminated_quote",
                    f"a quote opened on line {start} is never closed; the row is skipped and "
                    f"reading resumes on line {start + 1}",
                )
                row += 1
                lines.rewind(start + 1)
                reader = csv.reader(lines)
                continue
            if not cells:
                continue
            pid = cells[ii] if ii is not None and ii < len(cells) else None
            doc = cells[di] if di is not None and di < len(cells) else None
            text = cells[ti] if ti < len(cells) else None
            yield _item(
                src, lines.number, row, text, ti < len(cells), pid, f"{src.key}:{row}", opts, doc
            )
            row += 1


class _Lines:
    """Lines fed to ``csv.reader``, remembering those of the current record so that a record
    swallowed by an unterminated quote can be re-read from the line after its start."""

    def __init__(self, fh):
        self._source = iter(fh)
        self._pending: list[str] = []
        self.fed: list[str] = []
        self.number = 0  # physical lines consumed so far
        self.at_eof = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._pending:
            line = self._pending.pop(0)
        else:
            try:
                line = next(self._source)
            except StopIteration:
                self.at_eof = True
                raise
        self.number += 1
        self.fed.append(line)
        return line

    def rewind(self, line: int) -> None:
        """Continue from physical line ``line`` among those of the current record."""
        keep = self.fed[line - (self.number - len(self.fed) + 1) :]
        self._pending = keep + self._pending
        self.number = line - 1
        self.fed = []
        self.at_eof = False


def read_parquet(src: Source, opts: LabelOptions) -> Iterator[Item]:
    """One item per row, read in record batches of the text and id columns only."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        yield _bad(src, None, None, "unreadable", f"not a readable Parquet file: {exc}")
        return
    names = pf.schema_arrow.names
    if opts.text_field not in names:
        yield _bad(src, None, None, "missing_column", f"no '{opts.text_field}' column")
        return
    has_id = opts.id_field in names and opts.id_field != opts.text_field
    has_doc = opts.doc_field in names and opts.doc_field not in (opts.text_field, opts.id_field)
    columns = [opts.text_field, *([opts.id_field] if has_id else [])]
    columns += [opts.doc_field] if has_doc else []
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_READ_ROWS, columns=columns):
            texts = batch.column(opts.text_field).to_pylist()
            ids = batch.column(opts.id_field).to_pylist() if has_id else [None] * len(texts)
            docs = batch.column(opts.doc_field).to_pylist() if has_doc else [None] * len(texts)
            for text, pid, doc in zip(texts, ids, docs, strict=True):
                if isinstance(text, bytes):  # a binary column: decode value by value
                    try:
                        text = text.decode("utf-8")
                    except UnicodeDecodeError:
                        yield _bad(src, None, row, "undecodable", "text is not valid UTF-8")
                        row += 1
                        continue
                yield _item(src, None, row, text, True, pid, f"{src.key}:{row}", opts, doc)
                row += 1
    except Exception as exc:  # a corrupt page: report where, keep the rows before it
        yield _bad(src, None, row, "unreadable", f"Parquet read failed: {exc}")


def read_txt(src: Source, opts: LabelOptions) -> Iterator[Item]:
    """One item per paragraph, streamed line by line (the splitter gives the same result)."""
    stem = src.key.rsplit(".", 1)[0]
    index = 0
    with src.path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="surrogateescape")
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            for _, _, paragraph in split_paragraphs(line):
                yield _item(
                    src, lineno, None, paragraph, True, None, f"{stem}:p{index}", opts, src.key
                )
                index += 1


READERS: dict[str, Callable[[Source, LabelOptions], Iterator[Item]]] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "txt": read_txt,
}


def iter_items(
    sources: list[Source], opts: LabelOptions, start: int = 0
) -> Iterator[tuple[int, Item]]:
    """``(position, item)`` over all inputs; positions count every row, good or bad, from 0.

    The same inputs and options always give the same positions, which is what makes ``resume``
    exact: positions before ``start`` are read but not yielded.
    """
    pos = 0
    for src in sources:
        try:
            for item in READERS[src.kind](src, opts):
                if pos >= start:
                    yield pos, item
                pos += 1
        except OSError as exc:  # unreadable file: one bad row for it, and on to the next
            if pos >= start:
                yield pos, _bad(src, None, None, "unreadable", str(exc))
            pos += 1


def estimate_rows(sources: list[Source]) -> int:
    """Rows to expect, for the progress bar: non-blank lines, or Parquet metadata row counts."""
    total = 0
    for src in sources:
        try:
            if src.kind == "parquet":
                import pyarrow.parquet as pq

                total += pq.ParquetFile(src.path).metadata.num_rows
                continue
            with src.path.open("rb") as fh:
                lines = sum(1 for raw in fh if raw.strip())
            total += lines - 1 if src.kind == "csv" else lines  # a CSV header is no row
        except Exception:  # an estimate only: unreadable files are reported when read
            continue
    return max(total, 0)
