"""The predictor: one inference code path for the service, batch labelling and evaluation.

``Predictor.predict(texts)`` finds figure mentions with the registry, asks the model for frame
probabilities and per-mention sentiment probabilities (``score``), and assembles
:class:`~serving.results.ParagraphResult` objects. Subclasses implement ``score`` only.
"""

from __future__ import annotations

import os
import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from serving.figures import FigureMention, FigureRegistry
from serving.results import FigureResult, FrameScore, ParagraphResult
from serving.schema import LabelSchema
from serving.store import DEFAULT_NAMES, find_model

BACKENDS = ("auto", "torch", "torch-bf16", "onnx", "onnx-int8")


def bf16_is_native() -> bool:
    """True on CPUs with bfloat16 instructions (AVX-512 BF16 or AMX), where bf16 autocast is
    fast; elsewhere it is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_backend(backend: str) -> str:
    """``auto``: ``torch-bf16`` where bf16 is native, else ``onnx`` (fp32); others unchanged."""
    if backend == "auto":
        return "torch-bf16" if bf16_is_native() else "onnx"
    return backend


BASELINE_FILE = "baseline.pkl"
HEADS_FILE = "heads.pt"


class Predictor(ABC):
    """Base class: figure matching, thresholds and result assembly."""

    kind = "base"

    def __init__(self, info: dict[str, Any]):
        self.info = info
        self.schema = LabelSchema.from_dict(info["schema"])
        self.registry = FigureRegistry.from_dict(info["registry"])
        self.thresholds = np.asarray(info["thresholds"], dtype=float)
        self.version = str(info.get("tag", "unsaved"))

    @abstractmethod
    def save_artifacts(self, folder: Path) -> None:
        """Write the model files into a model-store folder (read back by ``load``)."""

    @abstractmethod
    def score(
        self, texts: list[str], mentions: list[list[FigureMention]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Frame probabilities (n, n_frames) and, per paragraph, sentiment probabilities (m, S)."""

    def predict(
        self, texts: list[str], ids: list[str | None] | None = None
    ) -> list[ParagraphResult]:
        """Classify paragraphs. ``ids`` are echoed back in the results."""
        mentions = [self.registry.first_mentions(t) for t in texts]
        frame_probs, sent_probs = self.score(texts, mentions)
        ids = ids or [None] * len(texts)
        return [
            self._assemble(pid, fp, ms, sp)
            for pid, fp, ms, sp in zip(ids, frame_probs, mentions, sent_probs, strict=True)
        ]

    def _assemble(
        self, pid: str | None, fp: np.ndarray, ms: list[FigureMention], sp: np.ndarray
    ) -> ParagraphResult:
        frames = [
            FrameScore(label=name, score=round(float(p), 4), present=bool(p >= t))
            for name, p, t in zip(self.schema.frame_names, fp, self.thresholds, strict=True)
        ]
        figures = []
        for m, probs in zip(ms, sp, strict=True):
            scores = {
                s: round(float(p), 4) for s, p in zip(self.schema.sentiments, probs, strict=True)
            }
            figures.append(
                FigureResult(
                    name=m.name,
                    mention=m.mention,
                    start=m.start,
                    end=m.end,
                    registered=m.registered,
                    sentiment=self.schema.sentiments[int(np.argmax(probs))],
                    scores=scores,
                )
            )
        return ParagraphResult(
            frames=frames, figures=figures, model=self.kind, model_version=self.version, id=pid
        )

    def describe(self) -> dict[str, Any]:
        """Version, schema, thresholds and dev metrics (for ``GET /model``)."""
        return {
            "kind": self.kind,
            "version": self.version,
            "schema_version": self.schema.version,
            "frames": self.schema.frame_names,
            "sentiments": list(self.schema.sentiments),
            "thresholds": dict(zip(self.schema.frame_names, self.thresholds.tolist(), strict=True)),
            "dev_metrics": self.info.get("dev_metrics", {}),
            "data_hash": self.info.get("data_hash"),
            "trained_at": self.info.get("trained_at"),
        }


class BaselinePredictor(Predictor):
    """TF-IDF + logistic regression."""

    kind = "baseline"

    def __init__(self, info: dict[str, Any], frames: Any, sentiment: Any):
        super().__init__(info)
        self.frames_model = frames
        self.sentiment_model = sentiment
        order = [list(sentiment.classes_).index(s) for s in self.schema.sentiments]
        self._sent_order = np.asarray(order)

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any]) -> BaselinePredictor:
        with open(folder / BASELINE_FILE, "rb") as fh:
            models = pickle.load(fh)
        return cls(info, models["frames"], models["sentiment"])

    def save_artifacts(self, folder: Path) -> None:
        with open(folder / BASELINE_FILE, "wb") as fh:
            pickle.dump({"frames": self.frames_model, "sentiment": self.sentiment_model}, fh)

    def score(self, texts, mentions):
        frame_probs = self.frames_model.predict_proba(texts)
        flat = [(t, m.start, m.end) for t, ms in zip(texts, mentions, strict=True) for m in ms]
        probs = self.sentiment_model.predict_proba(flat)[:, self._sent_order] if flat else None
        out, i = [], 0
        for ms in mentions:
            n = len(ms)
            out.append(probs[i : i + n] if n else np.zeros((0, len(self.schema.sentiments))))
            i += n
        return frame_probs, out


class TransformerPredictor(Predictor):
    """Encoder + heads in PyTorch, batched by length."""

    kind = "transformer"

    def __init__(self, info: dict[str, Any], model: Any, tokenizer: Any, batch_size: int = 64):
        super().__init__(info)
        import torch

        self.torch = torch
        self.model = model.eval()
        self.tokenizer = tokenizer
        cfg = info["config"]["transformer"]
        self.max_length = int(cfg["max_length"])
        self.stride = int(cfg["stride"])
        self.batch_size = batch_size
        self.device = next(model.parameters()).device
        self.bf16 = False
        """Run the encoder under bfloat16 autocast (``torch-bf16`` backend): fast on CPUs with
        AVX-512 BF16 or AMX, slow where bf16 is emulated."""

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backend": "torch-bf16" if self.bf16 else "torch"}

    @classmethod
    def load(cls, folder: Path, info: dict[str, Any], device: str = "auto") -> TransformerPredictor:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from serving.model import StanceFrameModel

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        hf_logging.set_verbosity_error()  # the unused pooler's "missing weights" report is noise
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
        encoder = AutoModel.from_pretrained(folder / "encoder")
        schema = LabelSchema.from_dict(info["schema"])
        model = StanceFrameModel(encoder, len(schema.frames), len(schema.sentiments))
        model.heads.load_state_dict(torch.load(folder / HEADS_FILE, map_location="cpu"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        return cls(info, model.to(device), tokenizer)

    def save_artifacts(self, folder: Path) -> None:
        self.model.encoder.save_pretrained(folder / "encoder")
        self.tokenizer.save_pretrained(folder / "tokenizer")
        self.torch.save(self.model.heads.state_dict(), folder / HEADS_FILE)

    def score(self, texts, mentions):
        from serving.model import encode

        torch = self.torch
        n = len(texts)
        frame_probs = np.zeros((n, len(self.schema.frames)))
        sent_probs: list[np.ndarray] = [np.zeros((0, len(self.schema.sentiments)))] * n
        order = sorted(range(n), key=lambda i: len(texts[i]))  # similar lengths share a batch
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)
        with torch.inference_mode(), autocast:
            for s in range(0, n, self.batch_size):
                idx = order[s : s + self.batch_size]
                spans = [[(m.start, m.end) for m in mentions[i]] for i in idx]
                batch = encode(
                    self.tokenizer, [texts[i] for i in idx], spans, self.max_length, self.stride
                ).to(self.device)
                fl, sl = self.model(batch)
                fp = torch.sigmoid(fl).float().cpu().numpy()
                sp = torch.softmax(sl, -1).float().cpu().numpy()
                k = 0
                for j, i in enumerate(idx):
                    frame_probs[i] = fp[j]
                    sent_probs[i] = sp[k : k + len(spans[j])]
                    k += len(spans[j])
        return frame_probs, sent_probs


def load_predictor(
    name_or_kind: str = "transformer",
    device: str = "auto",
    backend: str = "torch",
    threads: int | None = None,
) -> Predictor:
    """Load a predictor from the model store by kind (``transformer``/``baseline``), name or tag.

    ``backend`` (transformers only; see :mod:`serving.onnx_backend`): ``auto`` (see
    :func:`resolve_backend`); ``torch``; ``torch-bf16`` (bfloat16 autocast; same seed-gold scores
    as fp32 in the README's measurements); ``onnx`` runs
    the encoder in onnxruntime in fp32 (same outputs, faster); ``onnx-int8`` also quantises its
    weights to int8 (fastest, but it moves frame scores: see the README for the measured cost).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    backend = resolve_backend(backend)
    name = DEFAULT_NAMES.get(name_or_kind, name_or_kind)
    folder, info = find_model(name)
    if info["kind"] == "baseline":
        return BaselinePredictor.load(folder, info)
    if info["kind"] == "transformer" and backend == "torch-bf16":
        predictor = TransformerPredictor.load(folder, info, device=device)
        predictor.bf16 = True
        return predictor
    if info["kind"] == "transformer" and backend != "torch":
        from serving.onnx_backend import OnnxTransformerPredictor

        return OnnxTransformerPredictor.load(
            folder, info, quantize=backend == "onnx-int8", threads=threads
        )
    if info["kind"] == "transformer":
        return TransformerPredictor.load(folder, info, device=device)
    raise LookupError(f"model '{info.get('tag')}' has unknown kind {info['kind']!r}")
