"""Fitting the TF-IDF + logistic-regression baseline."""

from __future__ import annotations

from serving.estimators import FigureSentimentClassifier, FrameClassifier
from serving.predictors.baseline import BaselinePredictor
from training.data.corpus import Paragraph
from training.evaluation.scoring import frame_matrix
from training.fit.config import TrainConfig
from training.fit.info import TrainingData, model_info


def fit_baseline(
    config: TrainConfig, data: TrainingData, train_set: list[Paragraph], dev_set: list[Paragraph]
) -> BaselinePredictor:
    """TF-IDF frames (thresholds from grouped CV) and masked-context figure sentiment."""
    cfg = config.baseline
    frames = FrameClassifier(
        word_ngrams=cfg.word_ngrams,
        char_ngrams=cfg.char_ngrams,
        min_df=cfg.min_df,
        max_features=cfg.max_features,
        C=cfg.C,
        class_weight=cfg.class_weight,
        threshold_folds=cfg.threshold_folds,
    ).fit(
        [p.text for p in train_set],
        frame_matrix(train_set, data.schema),
        groups=[p.story_id for p in train_set],
    )
    sentiment_data = [*train_set, *data.extra_sentiment]
    mentions = [(p.text, f.start, f.end) for p in sentiment_data for f in p.figures]
    labels = [f.sentiment for p in sentiment_data for f in p.figures]
    sentiment = FigureSentimentClassifier(
        context_words=cfg.context_words,
        word_ngrams=cfg.word_ngrams,
        C=cfg.C,
        class_weight=cfg.class_weight,
    ).fit(mentions, labels)
    info = model_info(config, data, train_set, frames.thresholds_.tolist())
    return BaselinePredictor(info, frames, sentiment)
