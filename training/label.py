"""Batch labelling at corpus scale: stream paragraphs from files, label them, write JSONL/Parquet.

Inputs (any mix, in the order given; folders are searched recursively, in sorted order):

* JSONL: one object per line; text and id under ``text_field`` / ``id_field``;
* CSV: a header row naming the columns; the same two fields;
* Parquet: the same two columns, read in record batches;
* ``.txt`` articles: split into paragraphs by :func:`serving.text.split_paragraphs`.

Every reader is a streaming generator, so memory does not grow with the input. A missing id
becomes ``<file>:<line>`` (JSONL), ``<file>:<row>`` (CSV, Parquet; rows count from 0 after the
header) or ``<file stem>:p<index>`` (txt), where ``<file>`` is the path relative to the folder it
was found in (the file name when the file was given directly).

Work proceeds in chunks of ``chunk_size`` rows. Each chunk is one length-sorting window (similar
lengths share a batch, which cuts padding) and one commit: its results go to
``OUT.parts/part-NNNNNN.jsonl`` (bad rows to ``part-NNNNNN.errors.jsonl``), written under a
temporary name and renamed, and only then does ``OUT.parts/state.json`` (also renamed into place)
record the chunk as done. A crash therefore loses at most the chunks in flight and never leaves a
half-written file that counts. ``resume`` re-streams the inputs (deterministically) and skips the
row positions already done. When every input is done, the parts are assembled into ``OUT`` (and
``OUT.errors.jsonl``), each renamed into place, and ``OUT.parts`` is removed.

Output rows: ``id``, provenance (``file``, ``line``, ``row``) and the service's result fields
(:meth:`serving.results.ParagraphResult.to_dict`). Bad rows (missing, non-string, empty,
undecodable or oversize text, invalid JSON, missing column) go to ``OUT.errors.jsonl`` with
``file``, ``line``/``row``, an ``error`` code and a ``reason``.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from serving.predictor import BACKENDS, resolve_backend
from serving.results import ParagraphResult
from serving.store import find_model
from serving.text import split_paragraphs
from training.corpus import iter_jsonl

KINDS = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet", ".txt": "txt"}
FORMATS = {".jsonl": "jsonl", ".parquet": "parquet"}
STATE_FILE = "state.json"
STATE_VERSION = 1
PARQUET_READ_ROWS = 4096  # rows per Parquet record batch read
ROW_GROUP_ROWS = 10_000  # rows per Parquet row group written (and held in memory)

Record = tuple[int, str, dict[str, Any]]
"""``(position, "ok" | "error", output or error row)``: what an engine yields, in position order."""

Predict = Callable[[list[str], list[str | None]], list[ParagraphResult]]


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
    batch_size: int = 32
    chunk_size: int = 2048
    max_chars: int = 20_000
    resume: bool = False
    overwrite: bool = False
    backend: str = "auto"  # torch-bf16 where bf16 is native, else onnx fp32 (resolve_backend)
    format: str | None = None  # jsonl or parquet; default from the output suffix
    progress: bool = True

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


@dataclass
class LabelSummary:
    """What a run did. ``labelled``/``bad`` count the whole output, resumed runs included."""

    out: Path
    errors: Path
    labelled: int
    bad: int
    fallback: int
    processed: int  # rows (good and bad) handled by this call
    skipped: int  # rows done by earlier, interrupted calls
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The one-line report the CLI prints."""
        text = (
            f"labelled {self.labelled} rows, {self.bad} bad rows, {self.seconds:.1f} s, "
            f"{self.rows_per_s:.1f} rows/s -> {self.out}"
        )
        if self.bad:
            text += f" (bad rows: {self.errors})"
        if self.fallback:
            text += f"; {self.fallback} rows by the fallback model"
        if self.skipped:
            text += f"; resumed after {self.skipped} rows"
        return text


# ------------------------------------------------------------------------------------ paths
def parts_dir(out: Path) -> Path:
    """Where chunks and the run state live until the output is assembled."""
    return out.with_name(out.name + ".parts")


def errors_path(out: Path) -> Path:
    return out.with_name(out.name + ".errors.jsonl")


def _part(folder: Path, index: int, errors: bool = False) -> Path:
    return folder / f"part-{index:06d}{'.errors' if errors else ''}.jsonl"


def output_format(out: Path, fmt: str | None) -> str:
    """``fmt`` when given, else the one the suffix of ``out`` names."""
    if fmt:
        return fmt
    try:
        return FORMATS[out.suffix.lower()]
    except KeyError:
        raise LabelError(f"{out}: cannot tell the format from the suffix; use --format") from None


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
) -> Item:
    """Validate one row's text and id into an ``Item`` (an error ``Item`` when the text is bad)."""
    if pid is None or pid == "" or (isinstance(pid, str) and not _is_utf8(pid)):
        pid = default_id
    item = Item(src.name, line, row, id=str(pid))
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
            )


def read_csv(src: Source, opts: LabelOptions) -> Iterator[Item]:
    """One item per data row (blank lines skipped); ``line`` is where the row ends."""
    # Long cells are judged by --max-chars with a clear reason, not by csv's 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # surrogateescape: a row with undecodable bytes becomes one bad row instead of ending the file.
    with src.path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
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
        row = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield _bad(src, reader.line_num, row, "invalid_csv", str(exc))
                row += 1
                continue
            if not cells:
                continue
            pid = cells[ii] if ii is not None and ii < len(cells) else None
            text = cells[ti] if ti < len(cells) else None
            yield _item(
                src, reader.line_num, row, text, ti < len(cells), pid, f"{src.key}:{row}", opts
            )
            row += 1


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
    columns = [opts.text_field, opts.id_field] if has_id else [opts.text_field]
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_READ_ROWS, columns=columns):
            texts = batch.column(opts.text_field).to_pylist()
            ids = batch.column(opts.id_field).to_pylist() if has_id else [None] * len(texts)
            for text, pid in zip(texts, ids, strict=True):
                if isinstance(text, bytes):  # a binary column: decode value by value
                    try:
                        text = text.decode("utf-8")
                    except UnicodeDecodeError:
                        yield _bad(src, None, row, "undecodable", "text is not valid UTF-8")
                        row += 1
                        continue
                yield _item(src, None, row, text, True, pid, f"{src.key}:{row}", opts)
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
                yield _item(src, lineno, None, paragraph, True, None, f"{stem}:p{index}", opts)
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


# -------------------------------------------------------------------------------- labelling
def load_model(model: str, backend: str = "torch", batch_size: int | None = None) -> Predict:
    """A ``predict(texts, ids)`` for ``model``.

    ``auto`` is the service's fallback (:class:`serving.fallback.ModelPair`): the transformer,
    and the baseline for every batch it cannot answer, with ``fallback_reason`` set. Any other
    value is one stored model (kind, name or tag), with no fallback.
    """
    from serving.fallback import ModelPair
    from serving.predictor import load_predictor

    if model == "auto":
        pair = ModelPair.load("transformer", "baseline", backend=backend)
        if not pair.ready:
            raise LookupError(
                f"no model can be loaded: transformer: {pair.transformer_error}; "
                f"baseline: {pair.baseline_error}"
            )
        _set_batch_size(pair.transformer, batch_size)
        return lambda texts, ids: pair.predict(texts, ids, "auto")
    predictor = load_predictor(model, backend=backend)
    _set_batch_size(predictor, batch_size)
    return predictor.predict


def _set_batch_size(predictor: Any, batch_size: int | None) -> None:
    # The transformer batches internally too; match it so --batch-size means one forward pass.
    if batch_size and hasattr(predictor, "batch_size"):
        predictor.batch_size = batch_size


def output_row(item: Item, result: ParagraphResult) -> dict[str, Any]:
    """The output row: id and provenance, then the service's result fields."""
    res = result.to_dict()
    res.pop("id", None)
    return {"id": item.id, "file": item.file, "line": item.line, "row": item.row, **res}


def error_row(item: Item) -> dict[str, Any]:
    """The errors-file row: where the bad row is and why it was skipped."""
    return {
        "file": item.file,
        "line": item.line,
        "row": item.row,
        "id": item.id,
        "error": item.error,
        "reason": item.reason,
    }


def label_window(predict: Predict, window: list[tuple[int, Item]], batch_size: int) -> list[Record]:
    """Label one window: good rows sorted by length into batches, records in input order."""
    good = [i for i, (_, item) in enumerate(window) if item.error is None]
    good.sort(key=lambda i: len(window[i][1].text))
    rows: dict[int, dict[str, Any]] = {}
    for s in range(0, len(good), batch_size):
        idx = good[s : s + batch_size]
        results = predict([window[i][1].text for i in idx], [window[i][1].id for i in idx])
        for i, result in zip(idx, results, strict=True):
            rows[i] = output_row(window[i][1], result)
    return [
        (pos, "error", error_row(item)) if item.error else (pos, "ok", rows[i])
        for i, (pos, item) in enumerate(window)
    ]


def local_records(sources: list[Source], opts: LabelOptions, start: int) -> Iterator[Record]:
    """The in-process engine: one model, windows of ``chunk_size`` rows."""
    predict = load_model(opts.model, opts.backend, opts.batch_size)
    items = iter_items(sources, opts, start)
    while window := list(islice(items, opts.chunk_size)):
        yield from label_window(predict, window, opts.batch_size)


# ---------------------------------------------------------------------------- state, parts
@dataclass
class RunState:
    """What is committed: ``parts`` chunk files covering positions ``[0, next_pos)``."""

    fingerprint: dict[str, Any]
    next_pos: int = 0
    parts: int = 0
    labelled: int = 0
    bad: int = 0
    fallback: int = 0
    score_keys: list[str] = field(default_factory=list)  # sentiment names, in schema order
    inputs_done: bool = False
    version: int = STATE_VERSION

    def save(self, folder: Path) -> None:
        _write_atomic(folder / STATE_FILE, [json.dumps(asdict(self), indent=1)])

    @classmethod
    def load(cls, folder: Path) -> RunState:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise LabelError(f"{folder}: run state version {data.get('version')} is not supported")
        return cls(**data)


@contextmanager
def _atomic(final: Path):
    """A temporary path beside ``final`` renamed onto it (after fsync) when the block succeeds."""
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _write_atomic(path: Path, lines: Iterable[str]) -> None:
    with _atomic(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())  # the rename must never publish data still in the page cache


class PartWriter:
    """Commits records chunk by chunk: the part files first, then the state that counts them."""

    def __init__(self, folder: Path, state: RunState, chunk_size: int):
        self.folder = folder
        self.state = state
        self.chunk_size = chunk_size
        self.buffer: list[Record] = []

    def add(self, record: Record) -> None:
        expected = self.state.next_pos + len(self.buffer)
        if record[0] != expected:  # an engine bug would otherwise mean gaps or duplicates
            raise RuntimeError(f"record at position {record[0]}, expected {expected}")
        self.buffer.append(record)
        if len(self.buffer) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        state = self.state
        ok = [row for _, kind, row in self.buffer if kind == "ok"]
        bad = [row for _, kind, row in self.buffer if kind == "error"]
        _write_atomic(_part(self.folder, state.parts), (_dumps(r) for r in ok))
        if bad:
            _write_atomic(_part(self.folder, state.parts, errors=True), (_dumps(r) for r in bad))
        for row in ok:
            for figure in row.get("figures", ()):
                state.score_keys += [k for k in figure["scores"] if k not in state.score_keys]
        state.fallback += sum(1 for row in ok if row.get("fallback_reason"))
        state.labelled += len(ok)
        state.bad += len(bad)
        state.parts += 1
        state.next_pos = self.buffer[-1][0] + 1
        state.save(self.folder)
        self.buffer = []


def _dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False)


def fingerprint(sources: list[Source], opts: LabelOptions) -> dict[str, Any]:
    """What must not change between a run and its resumption (files by path, size, mtime)."""
    files = []
    for src in sources:
        st = src.path.stat()
        files.append([str(src.path.resolve()), st.st_size, st.st_mtime_ns])
    keys = ("text_field", "id_field", "max_chars", "model")
    return {
        "inputs": files,
        **{k: getattr(opts, k) for k in keys},
        "backend": resolve_backend(opts.backend),
        "model_tags": model_tags(opts.model),
    }


def model_tags(model: str) -> list[str]:
    """The stored versions a run would use, so a resume after retraining cannot mix versions."""
    names = ["transformer", "baseline"] if model == "auto" else [model]
    tags = []
    for name in names:
        try:
            tags.append(find_model(name)[1]["tag"])
        except LookupError:
            tags.append(f"{name}:absent")
    return tags


def open_run(out: Path, fp: dict[str, Any], opts: LabelOptions) -> RunState | None:
    """The state to continue from: new, resumed, or ``None`` when ``out`` is already complete."""
    folder = parts_dir(out)
    if opts.overwrite:
        shutil.rmtree(folder, ignore_errors=True)
        out.unlink(missing_ok=True)
        errors_path(out).unlink(missing_ok=True)
    elif folder.exists():
        if not opts.resume:
            raise LabelError(
                f"an unfinished run of {out} exists ({folder}); pass --resume to continue it "
                "or --overwrite to start again"
            )
        if (folder / STATE_FILE).exists():
            state = RunState.load(folder)
            _check_same_run(state.fingerprint, fp, out)
            for f in folder.iterdir():  # chunks written after the last committed state
                if f.name != STATE_FILE and not _committed(f.name, state.parts):
                    f.unlink()
            return state
        shutil.rmtree(folder)  # it died before committing anything
    elif out.exists():
        if opts.resume:
            return None
        raise LabelError(f"{out} exists; pass --overwrite to replace it")
    folder.mkdir(parents=True)
    state = RunState(fingerprint=fp)
    state.save(folder)
    return state


def _committed(name: str, parts: int) -> bool:
    if not name.startswith("part-"):
        return False
    index = name.removeprefix("part-").split(".", 1)[0]
    return index.isdigit() and int(index) < parts


def _check_same_run(old: dict[str, Any], new: dict[str, Any], out: Path) -> None:
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        raise LabelError(
            f"cannot resume {out}: {', '.join(changed)} changed since the run started "
            "(inputs are compared by path, size and modification time); "
            "use the original inputs and options, or --overwrite"
        )


# --------------------------------------------------------------------------------- assembly
def output_schema(score_keys: list[str]):
    """The Parquet schema: id and provenance, then ``ParagraphResult.to_dict()``'s fields typed
    from the result dataclasses. Sentiment scores are a struct of the sentiments seen (schema
    order), or a map when no figure was seen."""
    import pyarrow as pa

    scores = (
        pa.struct([(k, pa.float64()) for k in score_keys])
        if score_keys
        else pa.map_(pa.string(), pa.float64())
    )
    hints = typing.get_type_hints(ParagraphResult)
    keys = ParagraphResult(frames=[], figures=[], model="", model_version="").to_dict()
    result = [(k, _arrow_type(hints[k], scores)) for k in keys if k != "id"]
    provenance = [("id", pa.string()), ("file", pa.string()), ("line", pa.int64())]
    return pa.schema([*provenance, ("row", pa.int64()), *result])


def _arrow_type(tp: Any, scores: Any):
    import pyarrow as pa

    simple = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if tp in simple:
        return simple[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        [inner] = [a for a in args if a is not type(None)]
        return _arrow_type(inner, scores)
    if origin is list:
        return pa.list_(_arrow_type(args[0], scores))
    if origin is dict:  # the only mapping in a result: sentiment -> probability
        return scores
    if is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return pa.struct([(f.name, _arrow_type(hints[f.name], scores)) for f in fields(tp)])
    raise TypeError(f"no Parquet type for result field type {tp!r}")


def assemble(out: Path, fmt: str, state: RunState) -> None:
    """Write ``out`` and its errors file from the committed parts, then remove the parts."""
    folder = parts_dir(out)
    parts = [_part(folder, i) for i in range(state.parts)]
    if fmt == "parquet":
        _write_parquet(parts, out, state.score_keys)
    else:
        _concat(parts, out)
    error_parts = [_part(folder, i, errors=True) for i in range(state.parts)]
    _concat([p for p in error_parts if p.exists()], errors_path(out))
    shutil.rmtree(folder)


def _concat(paths: list[Path], out: Path) -> None:
    with _atomic(out) as tmp:
        with tmp.open("wb") as dst:
            for path in paths:
                with path.open("rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())


def _write_parquet(paths: list[Path], out: Path, score_keys: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = output_schema(score_keys)
    with _atomic(out) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            rows: list[dict[str, Any]] = []
            for path in paths:
                with path.open(encoding="utf-8") as fh:
                    rows.extend(json.loads(line) for line in fh)
                if len(rows) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                    rows = []
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))


def _count_complete(out: Path, fmt: str) -> tuple[int, int]:
    """Rows and bad rows of an already assembled output."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        labelled = pq.ParquetFile(out).metadata.num_rows
    else:
        with out.open("rb") as fh:
            labelled = sum(1 for _ in fh)
    bad = 0
    if errors_path(out).exists():
        with errors_path(out).open("rb") as fh:
            bad = sum(1 for _ in fh)
    return labelled, bad


# ------------------------------------------------------------------------------------- run
def _label_remaining(
    sources: list[Source], opts: LabelOptions, state: RunState, folder: Path
) -> None:
    """Run the engine from ``state.next_pos`` to the end, committing chunks as they complete."""
    from tqdm import tqdm

    writer = PartWriter(folder, state, opts.chunk_size)
    if opts.engine == "ray":
        from training.ray_engine import ray_records

        records = ray_records(sources, opts, state.next_pos)
    else:
        records = local_records(sources, opts, state.next_pos)
    total = estimate_rows(sources) if opts.progress else None
    with tqdm(
        total=total,
        initial=state.next_pos,
        unit="row",
        desc="labelling",
        disable=not opts.progress,
        dynamic_ncols=True,
        mininterval=1.0,
        smoothing=0.05,
    ) as bar:
        for record in records:
            writer.add(record)
            bar.update(1)
    writer.flush()
    state.inputs_done = True
    state.save(folder)


def label_corpus(
    inputs: Iterable[str | Path], out: str | Path, options: LabelOptions | None = None
) -> LabelSummary:
    """Label every paragraph of ``inputs`` into ``out`` (JSONL or Parquet); see the module doc."""
    opts = options or LabelOptions()
    opts.check()
    started = time.monotonic()
    out = Path(out)
    fmt = output_format(out, opts.format)
    if fmt == "parquet":
        output_schema([])  # a result field Parquet cannot hold fails now, not after the run
    sources = discover(inputs, exclude=[out, errors_path(out), parts_dir(out)])
    state = open_run(out, fingerprint(sources, opts), opts)
    if state is None:
        labelled, bad = _count_complete(out, fmt)
        return LabelSummary(out, errors_path(out), labelled, bad, 0, 0, labelled + bad, 0.0)
    skipped = state.next_pos
    if not state.inputs_done:
        try:
            _label_remaining(sources, opts, state, parts_dir(out))
        except BaseException:
            if state.parts == 0:  # nothing committed (e.g. no model): leave no run to resume
                shutil.rmtree(parts_dir(out), ignore_errors=True)
            raise
    assemble(out, fmt, state)
    return LabelSummary(
        out=out,
        errors=errors_path(out),
        labelled=state.labelled,
        bad=state.bad,
        fallback=state.fallback,
        processed=state.next_pos - skipped,
        skipped=skipped,
        seconds=time.monotonic() - started,
    )
