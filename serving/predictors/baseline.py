"""The baseline predictor: TF-IDF + logistic-regression estimators from
:mod:`serving.estimators`."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from serving.predictors.base import BASELINE_FILE, Predictor


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
