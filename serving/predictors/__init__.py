"""Predictors: one inference code path for the service, batch labelling and evaluation.

:mod:`~serving.predictors.base` (figure matching, thresholds, result assembly), one module per
model kind and backend (baseline, transformer, ONNX), and :mod:`~serving.predictors.factory`, the
one
place that maps (model kind, backend) to a class.

Import rule: may import other :mod:`serving` modules; never :mod:`training`.
"""

from serving.predictors.base import Predictor
from serving.predictors.factory import BACKENDS, load_predictor, resolve_backend

__all__ = ["BACKENDS", "Predictor", "load_predictor", "resolve_backend"]
