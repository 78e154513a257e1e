"""TF-IDF + logistic-regression baseline, following scikit-learn conventions.

* :class:`FrameClassifier`: one-vs-rest logistic regression over word and character TF-IDF, with a
  decision threshold per label tuned on grouped out-of-fold predictions.
* :class:`FigureSentimentClassifier`: logistic regression over a mention's local context, the
  mention replaced by a placeholder so that the model learns the context, not the name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from serving.tfidf import pipeline_predict_proba
from serving.thresholds import tune_thresholds

Mention = tuple[str, int, int]
"""A figure mention: (paragraph text, start, end)."""

PLACEHOLDER = "TARGETPERSON"


class MentionContext(TransformerMixin, BaseEstimator):
    """Map ``(text, start, end)`` to the words around the mention, the mention masked."""

    def __init__(self, window: int = 12, placeholder: str = PLACEHOLDER):
        self.window = window
        self.placeholder = placeholder

    def fit(self, X: Sequence[Mention], y=None) -> MentionContext:
        return self

    def transform(self, X: Sequence[Mention]) -> list[str]:
        out = []
        for text, start, end in X:
            left = text[:start].split()[-self.window :] if self.window else []
            right_text = text[end:]
            if right_text[:2] in ("'s", "’s"):
                right_text = right_text[2:]
            right = right_text.split()[: self.window] if self.window else []
            out.append(" ".join([*left, self.placeholder, *right]))
        return out


class FrameClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label frame classifier with per-label thresholds.

    ``fit(texts, Y, groups)`` takes a binary indicator matrix ``Y`` (n_samples, n_labels) and the
    story id of each text; thresholds are tuned on out-of-fold probabilities from
    ``GroupKFold(threshold_folds)`` so that near-duplicates never inform their own threshold.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (3, 5),
        min_df: int = 2,
        max_features: int = 50000,
        C: float = 4.0,
        class_weight: str | None = "balanced",
        threshold_folds: int = 5,
    ):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.class_weight = class_weight
        self.threshold_folds = threshold_folds

    def _pipeline(self) -> Pipeline:
        features = [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=tuple(self.word_ngrams),
                    min_df=self.min_df,
                    max_features=self.max_features,
                    sublinear_tf=True,
                    strip_accents="unicode",
                ),
            )
        ]
        if self.char_ngrams:
            features.append(
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=tuple(self.char_ngrams),
                        min_df=self.min_df,
                        max_features=self.max_features,
                        sublinear_tf=True,
                    ),
                )
            )
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        return Pipeline([("features", FeatureUnion(features)), ("clf", OneVsRestClassifier(lr))])

    def fit(self, X: Sequence[str], Y: np.ndarray, groups: Sequence[str] | None = None):
        Y = np.asarray(Y, dtype=int)
        self.n_labels_ = Y.shape[1]
        self.thresholds_ = self._tune_thresholds(list(X), Y, groups)
        self.pipeline_ = self._pipeline().fit(list(X), Y)
        return self

    def _tune_thresholds(self, X: list[str], Y: np.ndarray, groups) -> np.ndarray:
        n_groups = len(set(groups)) if groups is not None else len(X)
        folds = min(self.threshold_folds, n_groups)
        if folds < 2 or Y.sum(0).min() < 2:
            return np.full(Y.shape[1], 0.5)
        cv = GroupKFold(n_splits=folds)
        groups = groups if groups is not None else np.arange(len(X))
        oof = cross_val_predict(
            clone(self._pipeline()), X, Y, groups=groups, cv=cv, method="predict_proba"
        )
        return tune_thresholds(Y, oof)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return pipeline_predict_proba(self.pipeline_, list(X))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(int)


class FigureSentimentClassifier(ClassifierMixin, BaseEstimator):
    """Sentiment toward a mentioned person from the words around the mention."""

    def __init__(
        self,
        context_words: int = 12,
        word_ngrams: tuple[int, int] = (1, 2),
        C: float = 4.0,
        class_weight: str | None = "balanced",
    ):
        self.context_words = context_words
        self.word_ngrams = word_ngrams
        self.C = C
        self.class_weight = class_weight

    def fit(self, X: Sequence[Mention], y: Sequence[str]):
        self.pipeline_ = Pipeline(
            [
                ("context", MentionContext(self.context_words)),
                (
                    "tfidf",
                    TfidfVectorizer(
                        ngram_range=tuple(self.word_ngrams), sublinear_tf=True, min_df=1
                    ),
                ),
                (
                    "clf",
                    LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000),
                ),
            ]
        ).fit(list(X), list(y))
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: Sequence[Mention]) -> np.ndarray:
        if not len(X):
            return np.zeros((0, len(self.classes_)))
        return pipeline_predict_proba(self.pipeline_, list(X))

    def predict(self, X: Sequence[Mention]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]
