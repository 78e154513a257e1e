"""Faster CPU inference: the encoder in onnxruntime (fp32, or int8), the heads in PyTorch.

``OnnxTransformerPredictor`` is a :class:`~serving.predictors.transformer.TransformerPredictor`
whose ``model``
is swapped for :class:`OnnxStanceFrameModel`: tokenisation, windowing, mention pooling, heads and
result assembly are the torch predictor's own code, so ``Predictor.predict`` stays the one path
and only the encoder forward pass changes.

The encoder is exported once per stored model (TorchScript exporter, opset 17, dynamic batch and
sequence axes), for ``onnx-int8`` also dynamically quantised to int8 weights (per channel),
cached in ``<model folder>/onnx/``
(or ``$XDG_CACHE_HOME/stanceframe/onnx/<tag>/`` when the store is read-only). Files are written
under temporary names and renamed, so concurrent loaders (Ray actors, service workers) never see
half-written models.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from serving.model import EncodedBatch, StanceFrameHeads
from serving.model_info import UNSAVED, ModelInfo
from serving.predictors.transformer import TransformerPredictor

OPSET = 17
CACHE_DIR = "onnx"
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "last_hidden_state"


class _EncoderOnly(nn.Module):
    """The export target: token ids and mask in, token states out (positional args for tracing)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


class OnnxStanceFrameModel(nn.Module):
    """Drop-in for ``StanceFrameModel``: same call, same outputs, encoder run by onnxruntime."""

    def __init__(self, session: Any, heads: StanceFrameHeads):
        super().__init__()
        self.session = session
        self.heads = heads

    def forward(self, batch: EncodedBatch) -> tuple[torch.Tensor, torch.Tensor]:
        feeds = {
            "input_ids": batch.input_ids.numpy(),
            "attention_mask": batch.attention_mask.numpy(),
        }
        [states] = self.session.run([OUTPUT], feeds)
        return self.heads(torch.from_numpy(states), batch)


class OnnxTransformerPredictor(TransformerPredictor):
    """The transformer predictor with its encoder in onnxruntime (CPU)."""

    backend = "onnx"

    @classmethod
    def load(
        cls,
        folder: Path,
        info: ModelInfo,
        device: str = "cpu",
        quantize: bool = False,
        threads: int | None = None,
    ) -> OnnxTransformerPredictor:
        """Load the torch model, export its encoder on first use, and keep only the heads."""
        torch_predictor = TransformerPredictor.load(folder, info, device="cpu")
        path = export_encoder(
            torch_predictor.model.encoder,
            torch_predictor.tokenizer,
            cache_dir(folder, info),
            quantize=quantize,
        )
        model = OnnxStanceFrameModel(make_session(path, threads), torch_predictor.model.heads)
        predictor = cls(info, model, torch_predictor.tokenizer, torch_predictor.batch_size)
        predictor.precision = "int8" if quantize else "fp32"
        return predictor  # the torch encoder is dropped here: only the heads stay in memory

    def save_artifacts(self, folder: Path) -> None:
        raise TypeError("an ONNX predictor is a runtime view of a stored model; save the torch one")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backend": f"onnx-{self.precision}"}


def cache_dir(folder: Path, info: ModelInfo) -> Path:
    """``<model folder>/onnx``, or a per-tag user cache folder when the store is not writable."""
    own = folder / CACHE_DIR
    if os.access(folder, os.W_OK) or own.is_dir():
        return own
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    name = info.tag if info.tag != UNSAVED else folder.name
    return base / "stanceframe" / CACHE_DIR / name.replace(":", "-")


def export_encoder(
    encoder: nn.Module, tokenizer: Any, folder: Path, quantize: bool = False
) -> Path:
    """Path of the ONNX encoder in ``folder`` (``encoder.fp32.onnx``/``encoder.int8.onnx``),
    exporting and quantising it first when absent."""
    fp32 = folder / "encoder.fp32.onnx"
    int8 = folder / "encoder.int8.onnx"
    target = int8 if quantize else fp32
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    if not fp32.exists():
        with _atomic_path(fp32) as tmp:
            _export(encoder, tokenizer, tmp)
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with _atomic_path(int8) as tmp, _quiet():
            # Per-channel scales keep frame scores closer to fp32 than one scale per tensor.
            quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True)
    return target


def _export(encoder: nn.Module, tokenizer: Any, path: Path) -> None:
    # Trace with a padded batch: the traced graph must keep the attention-mask path (transformers
    # skips the mask when it is all ones, and tracing would freeze that shortcut).
    example = tokenizer(
        ["a longer example paragraph for tracing", "short"], padding=True, return_tensors="pt"
    )
    module = _EncoderOnly(encoder).eval()  # export restores train mode afterwards; eval is ours
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, OUTPUT)}
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            module,
            (example["input_ids"], example["attention_mask"]),
            str(path),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,  # the dynamo exporter (default since torch 2.9) needs onnxscript
        )
    encoder.eval()


def default_threads() -> int:
    """``OMP_NUM_THREADS`` when set (Ray sets it per actor, so actors never oversubscribe the
    CPU), else every core this process may run on."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def make_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads (``default_threads()``)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1  # one graph at a time; parallelism is inside the operators
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@contextmanager
def _atomic_path(final: Path):
    """A temporary path next to ``final``, renamed onto it when the block succeeds."""
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes it private; the store's other files are world-readable
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _quiet():
    """Silence the exporter's expected tracer/deprecation warnings and quantiser log advice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(max(previous, logging.WARNING))
        try:
            yield
        finally:
            logging.disable(previous)
