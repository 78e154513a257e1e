"""Fitting models: configuration dataclasses, the training recipe, the baseline fit, the transformer
loop.

Import rule: may import :mod:`training.data`, :mod:`training.evaluation` and :mod:`serving`.
"""
