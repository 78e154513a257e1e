"""The fast TF-IDF transform gives exactly scikit-learn's matrix, or defers to it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from serving import tfidf
from serving.estimators import FigureSentimentClassifier, FrameClassifier

CORPUS = [
    "The leader's office ran the campaign from London.",
    "Activists blamed the leader; the leader's office said nothing.",
    "Café owners in Zürich backed the regional team.",
    "The regional team worked hard. The regional team held the seat!",
    "office office office leader",
    "",
    "Ünïcödé ÀCCENTS and CAPITALS in the Office",
]
NEW = [
    "the leader's office blamed London",
    "",
    "word",
    "Zürich café: the regional team, the REGIONAL TEAM",
    "nothing here is in the vocabulary xyzzy",
    "team",  # with the next document's "the" it would make "team the": not a bigram
    "the office",
]


def _same(vectorizer: TfidfVectorizer, docs: list[str]) -> None:
    expected = vectorizer.transform(docs).toarray()
    got = tfidf.transform(vectorizer, docs).toarray()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 2)])
@pytest.mark.parametrize("sublinear_tf", [True, False])
@pytest.mark.parametrize("strip_accents", [None, "unicode", "ascii"])
def test_transform_equals_scikit_learn(ngram_range, sublinear_tf, strip_accents):
    vectorizer = TfidfVectorizer(
        ngram_range=ngram_range, sublinear_tf=sublinear_tf, strip_accents=strip_accents
    ).fit(CORPUS)
    assert tfidf.supports(vectorizer)
    _same(vectorizer, NEW)
    _same(vectorizer, CORPUS)


@pytest.mark.parametrize(
    "options",
    [{"norm": "l1"}, {"norm": None}, {"use_idf": False}, {"lowercase": False}, {"min_df": 2}],
)
def test_transform_equals_scikit_learn_for_other_weightings(options):
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), **options).fit(CORPUS)
    _same(vectorizer, NEW)


def test_a_bigram_never_spans_two_documents():
    vectorizer = TfidfVectorizer(ngram_range=(2, 2), norm=None, use_idf=False).fit(["team the"])
    assert tfidf.transform(vectorizer, ["team", "the"]).nnz == 0
    assert tfidf.transform(vectorizer, ["team the"]).nnz == 1


@pytest.mark.parametrize(
    "options",
    [
        {"analyzer": "char_wb", "ngram_range": (2, 3)},
        {"stop_words": ["the"]},
        {"binary": True},
        {"tokenizer": str.split, "token_pattern": None},
        {"ngram_range": (1, 3)},
    ],
)
def test_unsupported_vectorizers_go_through_scikit_learn(options):
    vectorizer = TfidfVectorizer(**options).fit(CORPUS)
    assert not tfidf.supports(vectorizer)
    _same(vectorizer, NEW)


def test_tokens_holding_spaces_go_through_scikit_learn():
    # A pattern whose tokens hold spaces makes "a b" both a token and a bigram.
    vectorizer = TfidfVectorizer(token_pattern=r"regional team|\w+", ngram_range=(1, 2))
    vectorizer.fit(CORPUS)
    _same(vectorizer, NEW)


def test_unfitted_vectorizer_is_not_supported():
    assert not tfidf.supports(TfidfVectorizer())


words = st.sampled_from(
    ["the", "The", "LEADER", "leader's", "office", "Zürich", "café", "ÉLITE", "a", "x1", "İstanbul"]
)
separators = st.sampled_from([" ", "  ", ", ", ". ", "\n", "-", "'", "—"])
documents = st.lists(st.tuples(words, separators), max_size=12).map(
    lambda pairs: "".join(w + s for w, s in pairs)
)


@settings(max_examples=200, deadline=None)
@given(st.lists(documents, min_size=1, max_size=6))
def test_transform_equals_scikit_learn_on_generated_documents(docs):
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
    vectorizer.fit([*CORPUS, "the leader's office élite zürich café istanbul"])
    _same(vectorizer, docs)


def test_pipeline_predict_proba_equals_the_pipelines_own():
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 1], [1, 0], [0, 0], [1, 1]])
    union = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2))),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3))),
        ]
    )
    pipeline = Pipeline(
        [("features", union), ("clf", OneVsRestClassifier(LogisticRegression()))]
    ).fit(CORPUS, y)
    np.testing.assert_array_equal(
        tfidf.pipeline_predict_proba(pipeline, NEW), pipeline.predict_proba(NEW)
    )


def test_baseline_estimators_score_as_their_scikit_learn_pipelines():
    texts = [*CORPUS, *NEW]
    y = np.array([[i % 2, (i // 2) % 2] for i in range(len(texts))])
    frames = FrameClassifier(min_df=1, threshold_folds=2).fit(texts, y, groups=list(range(14)))
    np.testing.assert_array_equal(frames.predict_proba(NEW), frames.pipeline_.predict_proba(NEW))
    mentions = [(t, 0, 3) for t in texts if len(t) > 3]
    labels = ["negative", "neutral", "positive"] * 4
    sentiment = FigureSentimentClassifier().fit(mentions, labels[: len(mentions)])
    np.testing.assert_array_equal(
        sentiment.predict_proba(mentions), sentiment.pipeline_.predict_proba(mentions)
    )
