"""Batch labelling at corpus scale: streaming readers, the labelling engine (local and Ray), and the
run driver (crash-safe parts, resumable state, assembly).

Import rule: may import :mod:`training.data` and :mod:`serving`; no other ``training`` package.
"""
