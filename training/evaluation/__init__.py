"""Evaluation: metrics, bootstrap confidence intervals, calibration, scoring predictions against
annotations, the ``stanceframe evaluate`` run and its report.

Import rule: may import :mod:`training.data` and :mod:`serving`; never :mod:`training.fit` or
:mod:`training.batch`.
"""
