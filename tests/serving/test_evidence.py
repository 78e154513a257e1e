"""Evidence: the sentences carrying each present frame, scored in the same call as the paragraph."""

import numpy as np
import pytest

from serving.evidence import METHODS, plan
from serving.predictors.factory import load_predictor

MULTI = (
    "The count went on past midnight in Putney. Senior aides in the leader's office sent "
    "activists to seats the party could never win. The weather was cold."
)
SINGLE = "Jeremy Corbyn's office is to blame for the defeat, Ruth Smeeth said."


@pytest.fixture(scope="module")
def predictors(trained_models):
    return [load_predictor(trained_models[k]) for k in ("baseline", "transformer")]


def _all_present(predictor):
    """Every frame present, so evidence is produced whatever the tiny model scores."""
    predictor.thresholds = np.zeros_like(predictor.thresholds)
    return predictor


@pytest.mark.parametrize("method", METHODS)
def test_every_present_frame_gets_sentences_of_its_paragraph(trained_models, method):
    for kind in ("baseline", "transformer"):
        predictor = _all_present(load_predictor(trained_models[kind]))
        [res] = predictor.predict([MULTI], evidence=True, evidence_method=method)
        for frame in res.frames:
            assert frame.present and frame.evidence
            assert all(MULTI[e.start : e.end] == e.text for e in frame.evidence)
            scores = [e.score for e in frame.evidence]
            assert scores == sorted(scores, reverse=True)
            assert len({(e.start, e.end) for e in frame.evidence}) == len(frame.evidence)


def test_alone_scores_are_each_sentence_scored_by_itself(predictors):
    baseline = _all_present(predictors[0])
    [res] = baseline.predict([MULTI], evidence=True, evidence_method="alone")
    sentences = [s for s in MULTI.split(". ")]
    alone = baseline.predict([s if s.endswith(".") else s + "." for s in sentences])
    best = max(range(3), key=lambda i: alone[i].frames[0].score)
    top = res.frames[0].evidence[0]
    assert top.text.rstrip(".") == sentences[best].rstrip(".")
    assert top.score == pytest.approx(alone[best].frames[0].score, abs=1e-4)


def test_a_single_sentence_is_its_own_evidence_with_the_paragraph_score(predictors):
    baseline = _all_present(predictors[0])
    [res] = baseline.predict([SINGLE], evidence=True)
    for frame in res.frames:
        [only] = frame.evidence
        assert (only.start, only.end, only.score) == (0, len(SINGLE), frame.score)


def test_figures_get_the_sentence_holding_their_mention(predictors):
    text = "The count went on. Ruth Smeeth blamed the office. Jeremy Corbyn said nothing."
    [res] = predictors[0].predict([text], evidence=True)
    by_name = {f.name: f.evidence.text for f in res.figures}
    assert by_name == {
        "Ruth Smeeth": "Ruth Smeeth blamed the office.",
        "Jeremy Corbyn": "Jeremy Corbyn said nothing.",
    }


def test_asking_for_evidence_does_not_change_the_answer(predictors):
    texts = [MULTI, SINGLE, "Labour won Putney."]
    for predictor in predictors:
        plain = predictor.predict(texts)
        with_evidence = predictor.predict(texts, evidence=[True, False, True])
        for a, b in zip(plain, with_evidence, strict=True):
            assert [f.score for f in a.frames] == pytest.approx(
                [f.score for f in b.frames], abs=1e-4
            )
            assert [f.present for f in a.frames] == [f.present for f in b.frames]
        assert "evidence" not in str(plain[0].to_dict())
        assert "evidence" not in str(with_evidence[1].to_dict())  # not asked for this one


def test_absent_frames_carry_an_empty_list_when_evidence_is_asked(predictors):
    baseline = predictors[0]
    baseline_thresholds = baseline.thresholds
    baseline.thresholds = np.ones_like(baseline_thresholds) * 2  # nothing present
    try:
        [res] = baseline.predict([MULTI], evidence=True)
    finally:
        baseline.thresholds = baseline_thresholds
    assert all(f.evidence == [] for f in res.frames)


def test_occlusion_texts_leave_out_one_sentence_each():
    plans, extra = plan([MULTI, SINGLE], [True, True], "occlusion")
    assert len(extra) == 3 and plans[1].n_extra == 0
    assert all(s[2] not in e for s, e in zip(plans[0].sentences, extra, strict=True))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown evidence method"):
        plan([MULTI], [True], "saliency")
