"""The batch run driver: chunks, crash-safe part files, resumable state, final assembly.

Work proceeds in chunks of ``chunk_size`` rows. Each chunk's results go to
``OUT.parts/part-NNNNNN.jsonl`` (bad rows to ``part-NNNNNN.errors.jsonl``), written under a
temporary
name and renamed; only then does ``OUT.parts/state.json`` record the chunk as done. A crash loses at
most the chunks in flight. ``resume`` re-streams the inputs and skips positions already done. When
every input is done, the parts are assembled into ``OUT`` and ``OUT.errors.jsonl``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import types
import typing
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from serving.predictors.factory import choose_backend, resolve_backend
from serving.results import ParagraphResult
from serving.store import find_model
from training.batch.engine import Record, local_records
from training.batch.readers import (
    FORMATS,
    KINDS,
    LabelError,
    LabelOptions,
    Source,
    discover,
    estimate_rows,
    skipped_files,
)

STATE_FILE = "state.json"
STATE_VERSION = 1
ROW_GROUP_ROWS = 10_000  # rows per Parquet row group written (and held in memory)


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
        _fsync_dir(final.parent)  # the rename itself must survive a power loss
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


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
    keys = ("text_field", "id_field", "doc_field", "max_chars", "model", "evidence")
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
            tags.append(find_model(name)[1].tag)
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
def output_schema(score_keys: list[str], evidence: bool = False):
    """The Parquet schema: id and provenance, then ``ParagraphResult.to_dict()``'s fields typed
    from the result dataclasses. Sentiment scores are a struct of the sentiments seen (schema
    order), or a map when no figure was seen. The ``evidence`` fields only when asked for, as in
    JSONL output."""
    import pyarrow as pa

    scores = (
        pa.struct([(k, pa.float64()) for k in score_keys])
        if score_keys
        else pa.map_(pa.string(), pa.float64())
    )
    hints = typing.get_type_hints(ParagraphResult)
    keys = ParagraphResult(frames=[], figures=[], model="", model_version="").to_dict()
    skip = frozenset() if evidence else frozenset({"evidence"})
    result = [(k, _arrow_type(hints[k], scores, skip)) for k in keys if k != "id"]
    provenance = [("id", pa.string()), ("file", pa.string()), ("line", pa.int64())]
    return pa.schema([*provenance, ("row", pa.int64()), *result])


def _arrow_type(tp: Any, scores: Any, skip: frozenset[str] = frozenset()):
    import pyarrow as pa

    simple = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    if tp in simple:
        return simple[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        [inner] = [a for a in args if a is not type(None)]
        return _arrow_type(inner, scores, skip)
    if origin is list:
        return pa.list_(_arrow_type(args[0], scores, skip))
    if origin is dict:  # the only mapping in a result: sentiment -> probability
        return scores
    if is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return pa.struct(
            [
                (f.name, _arrow_type(hints[f.name], scores, skip))
                for f in fields(tp)
                if f.name not in skip
            ]
        )
    raise TypeError(f"no Parquet type for result field type {tp!r}")


def assemble(out: Path, fmt: str, state: RunState) -> None:
    """Write ``out`` and its errors file from the committed parts, then remove the parts."""
    folder = parts_dir(out)
    parts = [_part(folder, i) for i in range(state.parts)]
    if fmt == "parquet":
        _write_parquet(parts, out, state.score_keys, bool(state.fingerprint.get("evidence")))
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


def _write_parquet(
    paths: list[Path], out: Path, score_keys: list[str], evidence: bool = False
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = output_schema(score_keys, evidence)
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
        _fsync_file(tmp)  # on disk before the parts it was built from are removed


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
        from training.batch.ray_engine import ray_records

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
    if opts.backend == "auto" and opts.model != "baseline":
        # Decide once (a measured probe, cached per machine and model) so that every engine,
        # actor and resumed run uses one backend and outputs cannot mix numerics.
        name = "transformer" if opts.model == "auto" else opts.model
        opts = dataclasses.replace(opts, backend=choose_backend(name, batch_size=opts.batch_size))
    started = time.monotonic()
    out = Path(out)
    fmt = output_format(out, opts.format)
    if fmt == "parquet":
        output_schema([])  # a result field Parquet cannot hold fails now, not after the run
    inputs = list(inputs)
    sources = discover(inputs, exclude=[out, errors_path(out), parts_dir(out)])
    if not sources:
        raise LabelError(
            f"no input file to label in {', '.join(map(str, inputs))}: expected files ending in "
            f"{', '.join(KINDS)} ({skipped_files(inputs)} other files skipped)"
        )
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
