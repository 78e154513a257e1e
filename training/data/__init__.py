"""Annotated data: the corpus loader and validator, story-grouped splits, NewsMTSC, agreement, and
the
annotation-tool importers and exporters (Label Studio, doccano) over one span-checking core.

Import rule: imports :mod:`serving` only; no other ``training`` package.
"""
