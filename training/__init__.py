"""Offline side of stanceframe: corpus tools, training, evaluation and batch labelling.

May import :mod:`serving` (model definitions, predictor); never the other way round.
"""
