"""Inference side of stanceframe.

Label schema, figure matching, models, predictor and the BentoML service.

Nothing in this package imports :mod:`training`.
"""

__version__ = "0.1.0"
