"""The predictor base: one inference path for the service, batch labelling and evaluation.

``Predictor.predict(texts)`` finds figure mentions with the registry, asks the model for frame
probabilities and per-mention sentiment probabilities (``score``), and assembles
:class:`~serving.results.ParagraphResult` objects. Subclasses implement ``score`` only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serving.evidence import DEFAULT_METHOD
from serving.evidence import attach as attach_evidence
from serving.evidence import plan as evidence_plan
from serving.figures import FigureMention
from serving.model_info import ModelInfo
from serving.results import FigureResult, FrameScore, ParagraphResult

BASELINE_FILE = "baseline.skops"
"""The baseline's estimators in skops format: loading admits only the listed trusted types, so a
model folder from elsewhere cannot run code (pickle could)."""
HEADS_FILE = "heads.safetensors"
"""The transformer heads' tensors (the encoder is saved by ``save_pretrained`` as safetensors)."""


class Predictor(ABC):
    """Base class: figure matching, thresholds and result assembly."""

    kind = "base"

    def __init__(self, info: ModelInfo):
        self.info = info
        self.schema = info.schema
        self.registry = info.registry
        self.thresholds = np.asarray(info.thresholds, dtype=float)
        self.backend_probe: dict[str, Any] | None = None
        """How ``backend="auto"`` chose this predictor (:mod:`serving.predictors.probe`)."""

    @property
    def version(self) -> str:
        """The model's store tag (``unsaved`` before it is saved)."""
        return self.info.tag

    @abstractmethod
    def save_artifacts(self, folder: Path) -> None:
        """Write the model files into a model-store folder (read back by ``load``)."""

    @abstractmethod
    def score(
        self, texts: list[str], mentions: list[list[FigureMention]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Frame probabilities (n, n_frames) and, per paragraph, sentiment probabilities (m, S)."""

    def predict(
        self,
        texts: list[str],
        ids: list[str | None] | None = None,
        contexts: Sequence[Sequence[str] | None] | None = None,
        evidence: bool | Sequence[bool] = False,
        evidence_method: str = DEFAULT_METHOD,
    ) -> list[ParagraphResult]:
        """Classify paragraphs. ``ids`` are echoed back in the results. ``contexts``: for each
        paragraph, the people named earlier in its document (see
        :meth:`~serving.figures.FigureRegistry.document_contexts`), so that "Ms Okafor" resolves
        to the Grace Okafor of an earlier paragraph. ``evidence`` (for all paragraphs or one
        flag each) adds the sentences that carry each present frame (:mod:`serving.evidence`),
        scored in the same call as the paragraphs."""
        n = len(texts)
        contexts = contexts or [None] * n
        mentions = [
            self.registry.first_mentions(t, c or ()) for t, c in zip(texts, contexts, strict=True)
        ]
        wanted = [evidence] * n if isinstance(evidence, bool) else list(evidence)
        plans, extra = evidence_plan(texts, wanted, evidence_method)
        frame_probs, sent_probs = self.score([*texts, *extra], [*mentions, *([[]] * len(extra))])
        ids = ids or [None] * n
        thresholds = self.thresholds.tolist()
        results = [
            self._assemble(pid, fp, ms, sp, thresholds)
            for pid, fp, ms, sp in zip(ids, frame_probs[:n], mentions, sent_probs[:n], strict=True)
        ]
        for result, item, fp in zip(results, plans, frame_probs[:n], strict=True):
            if item is not None:
                attach_evidence(result, item, fp, frame_probs[n:], self.thresholds, evidence_method)
        return results

    def _assemble(
        self,
        pid: str | None,
        fp: np.ndarray,
        ms: list[FigureMention],
        sp: np.ndarray,
        thresholds: list[float],
    ) -> ParagraphResult:
        # Plain floats first (tolist): per-element numpy scalars cost more than the rest here.
        frames = [
            FrameScore(label=name, score=round(p, 4), present=p >= t)
            for name, p, t in zip(self.schema.frame_names, fp.tolist(), thresholds, strict=True)
        ]
        figures = []
        sentiments = self.schema.sentiments
        for m, probs in zip(ms, np.asarray(sp).tolist(), strict=True):
            scores = {s: round(p, 4) for s, p in zip(sentiments, probs, strict=True)}
            figures.append(
                FigureResult(
                    name=m.name,
                    mention=m.mention,
                    start=m.start,
                    end=m.end,
                    registered=m.registered,
                    sentiment=sentiments[max(range(len(probs)), key=probs.__getitem__)],
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
            "dev_metrics": dict(self.info.dev_metrics),
            "data_hash": self.info.data_hash,
            "trained_at": self.info.trained_at,
            **({"backend_probe": self.backend_probe} if self.backend_probe else {}),
        }
