"""The corpus as a typed Hugging Face DatasetDict: written, read back, used by training."""

from tests.conftest import record, write_jsonl
from training.data.corpus import load_corpus
from training.data.hf import export_hf, is_hf_dataset, load_hf_split


def test_export_writes_typed_splits_with_schema_label_names_and_a_card(tmp_path, schema):
    rows = [record(i, frames=[schema.frame_names[i % 3]]) for i in range(4)]
    paragraphs = load_corpus([write_jsonl(tmp_path / "c.jsonl", rows)], schema)
    out = tmp_path / "hf"
    sizes = export_hf(
        {"train": paragraphs[:3], "gold": paragraphs[3:], "transfer": []}, schema, out
    )
    assert sizes == {"train": 3, "gold": 1}
    assert is_hf_dataset(out) and not is_hf_dataset(tmp_path)
    card = (out / "README.md").read_text()
    assert all(name in card for name in schema.frame_names)
    from datasets import load_from_disk

    ds = load_from_disk(str(out))
    assert ds["train"].features["frames"].feature.names == list(schema.frame_names)
    assert ds["train"].features["figures"].feature["sentiment"].names == list(schema.sentiments)


def test_paragraphs_survive_the_round_trip(tmp_path, schema):
    rows = [record(i, frames=[schema.frame_names[0]] if i % 2 else []) for i in range(3)]
    rows[1]["figures"] = [
        {
            "name": "Jeremy Corbyn",
            "mention": "Corbyn",
            "start": 7,
            "end": 13,
            "sentiment": "negative",
        }
    ]
    paragraphs = load_corpus([write_jsonl(tmp_path / "c.jsonl", rows)], schema)
    export_hf({"train": paragraphs}, schema, tmp_path / "hf")
    back = load_hf_split(tmp_path / "hf", "train")
    assert [(p.id, p.text, p.frames, p.figures) for p in back] == [
        (p.id, p.text, p.frames, p.figures) for p in paragraphs
    ]


def test_unknown_split_is_named_in_the_error(tmp_path, schema):
    paragraphs = load_corpus([write_jsonl(tmp_path / "c.jsonl", [record(1)])], schema)
    export_hf({"train": paragraphs}, schema, tmp_path / "hf")
    try:
        load_hf_split(tmp_path / "hf", "validation")
    except ValueError as exc:
        assert "validation" in str(exc) and "train" in str(exc)
    else:
        raise AssertionError("expected ValueError")
