"""Offline side of stanceframe: annotated data, fitting, evaluation and batch labelling.

Layout, one package per concern:

* :mod:`training.data`: the annotated corpus (loading, validation, splits), NewsMTSC, agreement, and
  one module per annotation tool over a shared span-checking core;
* :mod:`training.fit`: configuration, the training recipe, the baseline fit, the transformer loop;
* :mod:`training.evaluation`: metrics, bootstrap, calibration, scoring, the evaluation run, the
report;
* :mod:`training.batch`: readers, the labelling engine, the Ray engine, the run driver;
* :mod:`training.cli` and :mod:`training.up`: the only modules that import across all of them.

Import rule (checked by ``tests/test_architecture.py``): ``data`` imports no other training package;
``evaluation`` and ``batch`` may import ``data``; ``fit`` may import ``data`` and ``evaluation``;
anything here may import :mod:`serving`, never the other way round; no cycles anywhere.
"""
