import json

import pytest
import torch

from serving.predictors.baseline import BaselinePredictor
from serving.predictors.factory import load_predictor
from serving.predictors.transformer import TransformerPredictor
from serving.schema import load_schema
from serving.store import find_model
from tests.conftest import REPO, record, write_jsonl
from training.data.corpus import CorpusError
from training.fit.config import load_config
from training.fit.recipe import cross_validate, train


def test_both_models_train_into_the_store_and_load_back(trained_models):
    base = load_predictor(trained_models["baseline"])
    tiny = load_predictor(trained_models["transformer"])
    assert isinstance(base, BaselinePredictor) and isinstance(tiny, TransformerPredictor)
    text = "Jeremy Corbyn's aides were blamed by Ms Smeeth."
    for predictor in (base, tiny):
        [res] = predictor.predict([text], ids=["x"])
        assert res.id == "x" and res.model_version == predictor.version
        assert [f.label for f in res.frames] == predictor.schema.frame_names
        assert [f.name for f in res.figures] == ["Jeremy Corbyn", "Ruth Smeeth"]
        assert all(abs(sum(f.scores.values()) - 1) < 1e-3 for f in res.figures)


def test_saved_model_carries_schema_thresholds_hash_and_metrics(trained_models):
    for tag in trained_models.values():
        folder, info = find_model(tag)
        assert info.tag == tag
        assert info.schema.version == load_schema("labels/schema.yaml").version
        assert len(info.thresholds) == len(info.schema.frames)
        assert info.data_hash and info.library_versions["python"]
        assert "macro_f1" in info.dev_metrics["frames"]
        assert info.registry.figures


def test_transformer_artifacts_include_tokenizer_and_encoder(trained_models):
    folder, _ = find_model(trained_models["transformer"])
    assert (folder / "tokenizer" / "tokenizer.json").exists()
    assert (folder / "encoder" / "config.json").exists()


@pytest.mark.parametrize("config", ["baseline", "tiny"])
def test_predictions_of_the_trained_model_survive_save_and_reload(tiny_corpus, config):
    cfg = _config(
        None,
        [tiny_corpus["train"]],
        **{"baseline.min_df": 1, "baseline.threshold_folds": 2, "model_name": f"reload-{config}"},
    )
    if config == "tiny":
        cfg = load_config(REPO / "training" / "configs" / "tiny.yaml", {})
        cfg.data.train, cfg.data.gold, cfg.data.transfer = [str(tiny_corpus["train"])], [], []
        cfg.data.dev_pool, cfg.model_name = [], "reload-tiny"
    result = train(cfg)
    texts = ["Jeremy Corbyn's aides lost Putney.", "Labour gained nothing in Leeds."]
    before = [r.to_dict() for r in result.predictor.predict(texts)]
    after = [r.to_dict() for r in load_predictor(result.tag).predict(texts)]
    for b, a in zip(before, after, strict=True):
        assert [f["score"] for f in b["frames"]] == pytest.approx(
            [f["score"] for f in a["frames"]], abs=1e-5
        )
        assert [f["sentiment"] for f in b["figures"]] == [f["sentiment"] for f in a["figures"]]


def _config(tmp_path, train_paths, **extra):
    return load_config(
        REPO / "training" / "configs" / "baseline.yaml",
        {
            "data.train": [str(p) for p in train_paths],
            "data.gold": [],
            "data.labels_dir": str(REPO / "labels"),
            "data.transfer": [],
            "data.dev_pool": [],
            **extra,
        },
    )


def test_corrupt_corpus_file_names_file_and_line(tmp_path):
    bad = write_jsonl(tmp_path / "broken.jsonl", [record(1), "{oops"])
    with pytest.raises(CorpusError, match=r"broken\.jsonl:2: error: invalid JSON"):
        train(_config(tmp_path, [bad]), save=False)


def test_missing_corpus_file_names_it(tmp_path):
    with pytest.raises(CorpusError, match=r"absent\.jsonl:0: error: file not found"):
        train(_config(tmp_path, [tmp_path / "absent.jsonl"]), save=False)


def test_unknown_config_key_is_rejected(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(json.dumps({"kind": "baseline", "baseline": {"learning_rat": 1}}))
    with pytest.raises(ValueError, match="unknown config key"):
        load_config(path)


def test_grouped_cv_reports_mean_and_std(tiny_corpus):
    cfg = _config(
        None, [tiny_corpus["train"]], **{"baseline.min_df": 1, "baseline.threshold_folds": 2}
    )
    summary = cross_validate(cfg, 3)
    assert len(summary["folds"]) == 3
    for key in ("frames_macro_f1", "sentiment_macro_f1"):
        assert 0.0 <= summary[key]["mean"] <= 1.0 and summary[key]["std"] >= 0.0


def test_gold_text_found_in_training_data_is_refused(tmp_path):
    train_file = write_jsonl(tmp_path / "train.jsonl", [record(i) for i in range(6)])
    gold_file = write_jsonl(
        tmp_path / "gold.jsonl", [record(99, text="Jeremy  Corbyn spoke in LEEDS.")]
    )
    cfg = _config(tmp_path, [train_file])
    cfg.data.gold = [str(gold_file)]
    with pytest.raises(ValueError, match="gold must stay held out"):
        train(cfg, save=False)


def test_transfer_text_found_in_training_data_is_refused(tmp_path):
    train_file = write_jsonl(tmp_path / "train.jsonl", [record(i) for i in range(6)])
    transfer = write_jsonl(
        tmp_path / "transfer.jsonl", [record(77, text="jeremy corbyn spoke in leeds.")]
    )
    cfg = _config(tmp_path, [train_file], **{"data.transfer": [str(transfer)]})
    with pytest.raises(ValueError, match="transfer set must stay held out"):
        train(cfg, save=False)


def test_transfer_set_is_evaluated_and_stored_beside_the_gold(tiny_corpus):
    cfg = _config(
        None,
        [tiny_corpus["train"]],
        **{
            "data.transfer": [str(tiny_corpus["gold"])],
            "baseline.min_df": 1,
            "baseline.threshold_folds": 2,
        },
    )
    result = train(cfg, save=False)
    assert 0.0 <= result.transfer_metrics["frames"]["macro_f1"] <= 1.0
    assert result.predictor.info.transfer_metrics == result.transfer_metrics


def _tiny_transformer(tiny_corpus, **extra):
    return load_config(
        REPO / "training" / "configs" / "tiny.yaml",
        {
            "data.train": [str(tiny_corpus["train"])],
            "data.gold": [],
            "data.labels_dir": str(REPO / "labels"),
            "data.transfer": [],
            "data.dev_pool": [],
            **extra,
        },
    )


def test_early_stopping_ends_training_when_dev_stops_improving(tiny_corpus):
    frozen = {"transformer.learning_rate": 0.0, "transformer.head_learning_rate": 0.0}
    cfg = _tiny_transformer(
        tiny_corpus, **frozen, **{"transformer.epochs": 6, "transformer.patience": 1}
    )
    history = train(cfg, save=False).predictor.info.history
    assert len(history) == 2  # epoch 2 did not beat epoch 1: stop


def test_deadline_stops_training_after_the_epoch_in_flight(tiny_corpus):
    cfg = _tiny_transformer(
        tiny_corpus, **{"transformer.epochs": 6, "transformer.max_train_minutes": 1e-6}
    )
    assert len(train(cfg, save=False).predictor.info.history) == 1


def test_bf16_precision_trains_and_stores_float32_weights(tiny_corpus):
    cfg = _tiny_transformer(tiny_corpus, **{"transformer.precision": "bf16"})
    result = train(cfg, save=False)
    params = list(result.predictor.model.parameters())
    assert all(p.dtype == torch.float32 for p in params)  # autocast, not a bf16 copy
    assert result.dev_metrics["frames"]["macro_f1"] is not None


def test_unknown_precision_is_refused_by_name(tiny_corpus):
    cfg = _tiny_transformer(tiny_corpus, **{"transformer.precision": "fp8"})
    with pytest.raises(ValueError, match="precision"):
        train(cfg, save=False)


def test_encoder_layers_keeps_the_first_layers_and_the_stored_model_reloads_with_them(
    tiny_corpus,
):
    cfg = _tiny_transformer(
        tiny_corpus, **{"transformer.encoder_layers": 1, "model_name": "one-layer"}
    )
    result = train(cfg)
    assert len(result.predictor.model.encoder.encoder.layer) == 1
    reloaded = load_predictor(result.tag, backend="torch")
    assert len(reloaded.model.encoder.encoder.layer) == 1
    text = ["Jeremy Corbyn's aides lost Putney."]
    assert reloaded.predict(text)[0].to_dict() == result.predictor.predict(text)[0].to_dict()


@pytest.mark.parametrize("layers", [0, 99])
def test_encoder_layers_outside_the_encoder_are_refused(tiny_corpus, layers):
    cfg = _tiny_transformer(tiny_corpus, **{"transformer.encoder_layers": layers})
    with pytest.raises(ValueError, match="encoder_layers"):
        train(cfg, save=False)
