"""Backends and the one factory that maps (model kind, backend) to a predictor class."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from serving.model_info import ModelInfo
from serving.predictors.base import Predictor
from serving.predictors.baseline import BaselinePredictor
from serving.predictors.transformer import TransformerPredictor
from serving.store import DEFAULT_NAMES, find_model

log = logging.getLogger("stanceframe.predictors")

BACKENDS = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")


def onnx_available() -> bool:
    """True when onnxruntime and onnx (the ``fast`` extra) are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str) -> str:
    """The backend a request for ``backend`` uses. ``auto`` stays ``auto``: it is decided per
    model and machine by measurement when the model loads (:mod:`serving.predictors.probe`).

    An ONNX backend without the ``fast`` extra installed becomes ``torch`` with a warning that
    names the missing package, rather than failing the transformer and serving only the baseline.
    """
    if backend.startswith("onnx") and not onnx_available():
        log.warning(
            "backend %r needs onnxruntime and onnx, which are not installed "
            "(pip install 'stanceframe[fast]'); using plain torch instead",
            backend,
        )
        return "torch"
    return backend


def choose_backend(
    name_or_kind: str = "transformer",
    device: str = "auto",
    threads: int | None = None,
    batch_size: int | None = None,
) -> str:
    """The concrete backend ``auto`` means for this model on this machine (from the probe's
    cache without loading the model, or by probing now), so that every worker of one run uses
    the same one."""
    import torch

    from serving.predictors.probe import probe_key, read_cache

    try:
        _, info = find_model(DEFAULT_NAMES.get(name_or_kind, name_or_kind))
    except LookupError:
        return "torch"  # no transformer to probe: whatever loads later answers with the baseline
    if info.kind != "transformer":
        return "torch"
    key = probe_key(info, threads or torch.get_num_threads(), batch_size)
    cached = read_cache().get(key)
    if cached and cached.get("chosen"):
        return str(cached["chosen"])
    try:
        predictor = load_predictor(
            name_or_kind, device=device, backend="auto", threads=threads, batch_size=batch_size
        )
    except LookupError:
        return "torch"  # no transformer to probe: whatever loads later answers with the baseline
    probe = predictor.backend_probe
    return probe["chosen"] if probe else "torch"


def load_predictor(
    name_or_kind: str = "transformer",
    device: str = "auto",
    backend: str = "torch",
    threads: int | None = None,
    batch_size: int | None = None,
) -> Predictor:
    """Load a predictor from the model store by kind (``transformer``/``baseline``), name or tag.

    ``backend`` (transformers only; see :mod:`serving.predictors.onnx`): ``auto`` (the fastest
    of torch, torch-bf16 and onnx on this machine, measured: :mod:`serving.predictors.probe`);
    ``torch``; ``torch-bf16`` (bfloat16 autocast; same seed-gold scores
    as fp32 in the README's measurements); ``onnx`` runs
    the encoder in onnxruntime in fp32 (same outputs, faster); ``onnx-int8`` also quantises its
    weights to int8 (fastest, but it moves frame scores: see the README for the measured cost).
    ``batch_size``: paragraphs per forward pass the caller will use (``auto`` measures at it).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    backend = resolve_backend(backend)
    name = DEFAULT_NAMES.get(name_or_kind, name_or_kind)
    folder, info = find_model(name)
    if info.kind == "baseline":
        return BaselinePredictor.load(folder, info)
    if info.kind != "transformer":
        raise LookupError(f"model '{info.tag}' has unknown kind {info.kind!r}")
    if backend != "auto":
        return _load_transformer(folder, info, backend, device, threads)
    from serving.predictors.probe import choose

    loaded: dict[str, Predictor] = {}

    def load(candidate: str) -> Predictor:
        if candidate.startswith("onnx") and not onnx_available():
            raise ImportError("onnxruntime and onnx are not installed")
        if candidate == "torch-bf16":  # the same weights under autocast: no second load
            fp32 = loaded.get("torch") or load("torch")
            loaded[candidate] = copy.copy(fp32)
            loaded[candidate].bf16 = True
        elif candidate not in loaded:
            loaded[candidate] = _load_transformer(folder, info, candidate, device, threads)
        return loaded[candidate]

    import torch

    predictor, record = choose(
        info, threads or torch.get_num_threads(), load, batch_size=batch_size
    )
    predictor.backend_probe = record
    return predictor


def _load_transformer(
    folder: Path, info: ModelInfo, backend: str, device: str, threads: int | None
) -> Predictor:
    if backend == "torch-bf16":
        predictor = TransformerPredictor.load(folder, info, device=device)
        predictor.bf16 = True
        return predictor
    if backend in ("onnx", "onnx-int8"):
        from serving.predictors.onnx import OnnxTransformerPredictor

        return OnnxTransformerPredictor.load(
            folder, info, quantize=backend == "onnx-int8", threads=threads
        )
    return TransformerPredictor.load(folder, info, device=device)
