"""The labelling step: load a predictor once, label length-sorted windows, build output rows.

Shared by the local engine and the Ray engine, so both produce identical rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from serving.figures import FigureRegistry
from serving.results import ParagraphResult
from training.batch.readers import Item, LabelOptions, Source, iter_items

Record = tuple[int, str, dict[str, Any]]
"""``(position, "ok" | "error", output or error row)``: what an engine yields, in position order."""

Predict = Callable[[list[str], list[str | None], list[list[str] | None]], list[ParagraphResult]]
"""``predict(texts, ids, contexts)``: see :meth:`serving.predictors.base.Predictor.predict`."""


@dataclass(frozen=True)
class Labeller:
    """What the engines label with: a predict function and the registry that finds people named
    earlier in a document (``None``: rows are labelled without document context)."""

    predict: Predict
    registry: FigureRegistry | None = None


# -------------------------------------------------------------------------------- labelling
def load_model(
    model: str, backend: str = "torch", batch_size: int | None = None, evidence: bool = False
) -> Labeller:
    """A :class:`Labeller` for ``model``.

    ``auto`` is the service's fallback (:class:`serving.fallback.ModelPair`): the transformer,
    and the baseline for every batch it cannot answer, with ``fallback_reason`` set. Any other
    value is one stored model (kind, name or tag), with no fallback.
    """
    from serving.fallback import ModelPair
    from serving.predictors.factory import load_predictor

    if model == "auto":
        pair = ModelPair.load("transformer", "baseline", backend=backend)
        if not pair.ready:
            raise LookupError(
                f"no model can be loaded: transformer: {pair.transformer_error}; "
                f"baseline: {pair.baseline_error}"
            )
        _set_batch_size(pair.transformer, batch_size)
        registry = (pair.transformer or pair.baseline).registry
        return Labeller(functools.partial(_pair_predict, pair, evidence=evidence), registry)
    predictor = load_predictor(model, backend=backend)
    _set_batch_size(predictor, batch_size)
    return Labeller(functools.partial(predictor.predict, evidence=evidence), predictor.registry)


def _pair_predict(pair, texts, ids, contexts=None, evidence=False):
    return pair.predict(texts, ids, "auto", contexts, evidence)


def document_contexts(
    registry: FigureRegistry, window: list[tuple[int, Item]]
) -> dict[int, list[str]]:
    """For rows with a document id, the people named in earlier rows of the same document in
    this window (rows of one document are expected to be consecutive paragraphs, in order)."""
    by_doc: dict[str, list[int]] = {}
    for i, (_, item) in enumerate(window):
        if item.error is None and item.doc is not None:
            by_doc.setdefault(item.doc, []).append(i)
    out: dict[int, list[str]] = {}
    for rows in by_doc.values():
        texts = [window[i][1].text for i in rows]
        out.update(zip(rows, registry.document_contexts(texts), strict=True))
    return out


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


def label_window(
    labeller: Labeller, window: list[tuple[int, Item]], batch_size: int
) -> list[Record]:
    """Label one window: good rows sorted by length into batches, records in input order."""
    good = [i for i, (_, item) in enumerate(window) if item.error is None]
    good.sort(key=lambda i: len(window[i][1].text))
    registry = labeller.registry
    contexts = document_contexts(registry, window) if registry is not None else {}
    rows: dict[int, dict[str, Any]] = {}
    for s in range(0, len(good), batch_size):
        idx = good[s : s + batch_size]
        ctx = [contexts.get(i) for i in idx]
        items = [window[i][1] for i in idx]
        for i, result in _predict_isolating(labeller.predict, items, idx, ctx):
            if isinstance(result, Exception):
                item = window[i][1]
                item.error, item.reason = "predict_failed", f"{type(result).__name__}: {result}"
            else:
                rows[i] = output_row(window[i][1], result)
    return [
        (pos, "error", error_row(item)) if item.error else (pos, "ok", rows[i])
        for i, (pos, item) in enumerate(window)
    ]


def _predict_isolating(
    predict: Predict, items: list[Item], idx: list[int], contexts: list[list[str] | None]
) -> list[tuple[int, ParagraphResult | Exception]]:
    """Predict a batch; when it raises, predict its rows one by one so only the rows that fail
    become error rows (a bad row must not abort the run, nor take its neighbours with it)."""
    try:
        results = predict([item.text for item in items], [item.id for item in items], contexts)
        return list(zip(idx, results, strict=True))
    except Exception as exc:
        if len(items) == 1:
            return [(idx[0], exc)]
    out: list[tuple[int, ParagraphResult | Exception]] = []
    for i, item, context in zip(idx, items, contexts, strict=True):
        try:
            out.append((i, predict([item.text], [item.id], [context])[0]))
        except Exception as exc:  # reported in the errors file with its reason
            out.append((i, exc))
    return out


def local_records(sources: list[Source], opts: LabelOptions, start: int) -> Iterator[Record]:
    """The in-process engine: one model, windows of ``chunk_size`` rows."""
    labeller = load_model(opts.model, opts.backend, opts.batch_size, opts.evidence)
    items = iter_items(sources, opts, start)
    while window := list(islice(items, opts.chunk_size)):
        yield from label_window(labeller, window, opts.batch_size)
