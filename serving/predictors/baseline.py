"""The baseline predictor: TF-IDF + logistic-regression estimators from
:mod:`serving.estimators`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from serving.model_info import ModelInfo
from serving.predictors.base import BASELINE_FILE, Predictor

TRUSTED_TYPES = frozenset(
    {
        "serving.estimators.FigureSentimentClassifier",
        "serving.estimators.FrameClassifier",
        "serving.estimators.MentionContext",
    }
)
"""Types beyond skops' defaults that a stored baseline may contain: this project's estimators."""


class BaselinePredictor(Predictor):
    """TF-IDF + logistic regression."""

    kind = "baseline"

    def __init__(self, info: ModelInfo, frames: Any, sentiment: Any):
        super().__init__(info)
        self.frames_model = frames
        self.sentiment_model = sentiment
        order = [list(sentiment.classes_).index(s) for s in self.schema.sentiments]
        self._sent_order = np.asarray(order)

    @classmethod
    def load(cls, folder: Path, info: ModelInfo) -> BaselinePredictor:
        import skops.io as sio

        path = folder / BASELINE_FILE
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise LookupError(f"{path} holds types that are not trusted: {', '.join(untrusted)}")
        models = sio.load(path, trusted=list(TRUSTED_TYPES))
        return cls(info, models["frames"], models["sentiment"])

    def save_artifacts(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(
            {"frames": self.frames_model, "sentiment": self.sentiment_model}, folder / BASELINE_FILE
        )

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
