"""Fast inference for fitted word-n-gram TF-IDF vectorizers.

scikit-learn's ``TfidfVectorizer.transform`` builds every n-gram and counts it in a Python loop per
document; that loop was the baseline's largest cost. :func:`transform` produces the same matrix
(same vocabulary, counts, sublinear tf, idf and norm, in the same floating-point order) from one
flat list comprehension over all documents' tokens and vectorised numpy. It covers the
configurations this project fits (``analyzer="word"``, a ``token_pattern``, no stop words, custom
callables or binary counts); any other vectorizer goes through its own ``transform``. Training
keeps scikit-learn's estimators untouched, so stored models need no new types.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import (
    TfidfVectorizer,
    strip_accents_ascii,
    strip_accents_unicode,
)
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

_ACCENTS = {None: None, "unicode": strip_accents_unicode, "ascii": strip_accents_ascii}


def supports(vectorizer: TfidfVectorizer) -> bool:
    """Whether :func:`transform` reproduces this fitted vectorizer exactly."""
    v = vectorizer
    return (
        isinstance(v, TfidfVectorizer)
        and hasattr(v, "vocabulary_")
        and v.analyzer == "word"
        and v.input == "content"
        and v.preprocessor is None
        and v.tokenizer is None
        and v.stop_words is None
        and isinstance(v.token_pattern, str)
        and re.compile(v.token_pattern).groups <= 1
        and (isinstance(v.strip_accents, str) or v.strip_accents is None)
        and v.strip_accents in _ACCENTS
        and not v.binary
        and tuple(v.ngram_range) in ((1, 1), (1, 2), (2, 2))
    )


def transform(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.transform(docs)``, computed without a Python loop per n-gram."""
    counts = None
    if len(docs) and supports(vectorizer) and all(isinstance(d, str) for d in docs):
        counts = _counts(vectorizer, docs)
    if counts is None:
        return vectorizer.transform(docs)
    if vectorizer.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1
    if vectorizer.use_idf:
        counts.data *= vectorizer.idf_[counts.indices]
    if vectorizer.norm:
        counts = normalize(counts, norm=vectorizer.norm, copy=False)
    return counts


def transform_features(step, docs: Sequence[str]):
    """A fitted feature step's output: a word-TF-IDF vectorizer through :func:`transform`, a
    ``FeatureUnion`` of them part by part, anything else through its own ``transform``."""
    if isinstance(step, TfidfVectorizer):
        return transform(step, docs)
    if isinstance(step, FeatureUnion) and not step.transformer_weights:
        parts = [
            transform_features(t, docs) for _, t in step.transformer_list if t not in (None, "drop")
        ]
        if parts and all(sp.issparse(p) for p in parts):
            return sp.hstack(parts).tocsr()
    return step.transform(docs)


def _counts(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sp.csr_matrix | None:
    """The count matrix ``CountVectorizer.transform`` would build (float64, sorted indices), or
    None where a token holds a space (an n-gram would then be ambiguous)."""
    lower, accents = vectorizer.lowercase, _ACCENTS[vectorizer.strip_accents]
    findall = re.compile(vectorizer.token_pattern).findall
    tokens_per_doc = []
    for doc in docs:
        if lower:
            doc = doc.lower()
        if accents is not None:
            doc = accents(doc)
        tokens_per_doc.append(findall(doc))
    lengths = np.array([len(t) for t in tokens_per_doc], dtype=np.int64)
    tokens = list(chain.from_iterable(tokens_per_doc))
    table = _table(vectorizer)
    if table is None or " " in "".join(tokens):
        return None
    doc_of_token = np.repeat(np.arange(len(docs)), lengths)
    get = table.token_ids.get
    ids = np.array([get(t, -1) for t in tokens], dtype=np.int64)
    min_n, max_n = vectorizer.ngram_range
    columns, rows = [], []
    if min_n == 1:
        columns.append(np.where(ids >= 0, table.unigram_feature[ids], -1))
        rows.append(doc_of_token)
    if max_n == 2 and len(tokens) > 1:
        # A bigram is a pair of token ids, looked up by binary search in the sorted pair codes.
        first, second = ids[:-1], ids[1:]
        codes = first * len(table.unigram_feature) + second
        at = np.minimum(np.searchsorted(table.pair_codes, codes), len(table.pair_codes) - 1)
        found = (first >= 0) & (second >= 0) & (table.pair_codes[at] == codes)
        # A pair whose two tokens come from different documents is not a bigram.
        found &= doc_of_token[:-1] == doc_of_token[1:]
        columns.append(np.where(found, table.pair_feature[at], -1))
        rows.append(doc_of_token[:-1])
    col = np.concatenate(columns) if columns else np.zeros(0, np.int64)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    known = col >= 0
    matrix = sp.csr_matrix(
        (np.ones(int(known.sum())), (row[known], col[known])),
        shape=(len(docs), len(vectorizer.vocabulary_)),
        dtype=vectorizer.dtype,
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


@dataclass(frozen=True)
class _Table:
    """A fitted vocabulary in lookup form: an id for every token that occurs in it, the feature
    of each id as a unigram (-1 if none), and its bigrams as sorted codes ``id1 * n + id2``."""

    token_ids: dict[str, int]
    unigram_feature: np.ndarray
    pair_codes: np.ndarray
    pair_feature: np.ndarray


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _table(vectorizer: TfidfVectorizer) -> _Table | None:
    """The vectorizer's :class:`_Table`, built once per fitted vectorizer; None when its
    vocabulary holds longer n-grams than its ``ngram_range`` (tokens with spaces)."""
    if vectorizer not in _TABLES:
        token_ids: dict[str, int] = {}
        grams = [(gram.split(" "), index) for gram, index in vectorizer.vocabulary_.items()]
        if any(len(parts) > vectorizer.ngram_range[1] for parts, _ in grams):
            _TABLES[vectorizer] = None
            return None
        for parts, _ in grams:
            for part in parts:
                token_ids.setdefault(part, len(token_ids))
        n = max(len(token_ids), 1)
        unigram = np.full(n, -1, dtype=np.int64)
        pairs = []
        for parts, index in grams:
            if len(parts) == 1:
                unigram[token_ids[parts[0]]] = index
            else:
                pairs.append((token_ids[parts[0]] * n + token_ids[parts[1]], index))
        pairs.sort()
        codes = np.array([c for c, _ in pairs] or [-1], dtype=np.int64)
        features = np.array([f for _, f in pairs] or [-1], dtype=np.int64)
        _TABLES[vectorizer] = _Table(token_ids, unigram, codes, features)
    return _TABLES[vectorizer]


def pipeline_predict_proba(pipeline, X) -> np.ndarray:
    """``pipeline.predict_proba(X)`` with every TF-IDF step through :func:`transform_features`."""
    data = X
    for _, step in pipeline.steps[:-1]:
        if step is None or step == "passthrough":
            continue
        data = transform_features(step, data)
    return pipeline.steps[-1][1].predict_proba(data)
