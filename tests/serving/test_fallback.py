import pytest

from serving.fallback import BUSY, ERROR, TIMEOUT, UNAVAILABLE, ModelPair, decide
from serving.predictors.factory import load_predictor


@pytest.mark.parametrize(
    ("requested", "ready", "expected"),
    [
        ("auto", True, ("transformer", None)),
        ("transformer", True, ("transformer", None)),
        ("auto", False, ("baseline", UNAVAILABLE)),
        ("transformer", False, ("baseline", UNAVAILABLE)),
        ("baseline", True, ("baseline", "requested")),
        ("baseline", False, ("baseline", "requested")),
    ],
)
def test_decide_table(requested, ready, expected):
    assert decide(requested, ready) == expected


@pytest.fixture(scope="module")
def predictors(trained_models):
    return load_predictor(trained_models["transformer"]), load_predictor(trained_models["baseline"])


def test_pair_uses_transformer_when_healthy(predictors):
    pair = ModelPair(*predictors, timeout_s=30)
    [r] = pair.predict(["Labour lost Putney."], ["a"])
    assert (r.model, r.fallback_reason, r.id) == ("transformer", None, "a")


def test_exception_on_a_batch_falls_back(predictors, monkeypatch):
    monkeypatch.setenv("STANCEFRAME_FAIL_TRANSFORMER", "predict")
    [r] = ModelPair(*predictors).predict(["Labour lost Putney."])
    assert (r.model, r.fallback_reason) == ("baseline", ERROR)


def test_timeout_falls_back_then_busy_until_the_slow_batch_ends(predictors, monkeypatch):
    monkeypatch.setenv("STANCEFRAME_FAIL_TRANSFORMER", "slow")
    pair = ModelPair(*predictors, timeout_s=0.2)
    [first] = pair.predict(["Labour lost Putney."])
    [second] = pair.predict(["Labour lost Putney."])
    assert (first.model, first.fallback_reason) == ("baseline", TIMEOUT)
    assert (second.model, second.fallback_reason) == ("baseline", BUSY)


def test_missing_transformer_is_recorded_and_baseline_answers(trained_models):
    pair = ModelPair.load("no-such-model", trained_models["baseline"])
    assert pair.ready and pair.transformer is None and "not found" in pair.transformer_error
    [r] = pair.predict(["Labour lost Putney."])
    assert (r.model, r.fallback_reason) == ("baseline", UNAVAILABLE)


def test_no_model_at_all_is_not_ready():
    pair = ModelPair.load("no-such-model", "no-such-baseline")
    assert not pair.ready
    with pytest.raises(RuntimeError, match="no model can answer"):
        pair.predict(["text"])


def test_baseline_with_another_label_set_is_refused(trained_models, tmp_path, monkeypatch):
    import shutil

    from serving.schema import LabelSchema
    from serving.store import find_model, save_model

    folder, info = find_model(trained_models["baseline"])
    schema = info.schema.to_dict()
    info = info.replace(
        schema=LabelSchema.from_dict({**schema, "frames": schema["frames"][:2]}),
        thresholds=info.thresholds[:2],
    )

    def write(target):
        for item in folder.iterdir():
            if item.name != "stanceframe.json":
                shutil.copy(item, target / item.name)

    tag = save_model("other-labels-baseline", info, write)
    pair = ModelPair.load(trained_models["transformer"], tag)
    assert pair.baseline is None and "label schema differs" in pair.baseline_error
    assert pair.transformer is not None


def test_drill_file_switches_a_running_pair_on_and_off(predictors, monkeypatch, tmp_path):
    drill = tmp_path / "drill"
    drill.write_text("predict")
    monkeypatch.setenv("STANCEFRAME_DRILL_FILE", str(drill))
    pair = ModelPair(*predictors)
    assert pair.predict(["Labour lost Putney."])[0].fallback_reason == ERROR
    drill.write_text("")
    assert pair.predict(["Labour lost Putney."])[0].model == "transformer"
