import pytest

from tests.conftest import write_jsonl
from training.data.agreement import agreement, read_labels
from training.data.corpus import CorpusError


def _labels(tmp_path, name, rows):
    return read_labels([write_jsonl(tmp_path / name, rows)])


def test_perfect_agreement_is_kappa_one(tmp_path, schema):
    rows = [
        {"id": "a", "frames": ["defend_unit"], "figures": [{"name": "X", "sentiment": "positive"}]},
        {"id": "b", "frames": [], "figures": [{"name": "X", "sentiment": "negative"}]},
    ]
    r = agreement(_labels(tmp_path, "1.jsonl", rows), _labels(tmp_path, "2.jsonl", rows), schema)
    assert r["frames"]["defend_unit"]["kappa"] == 1.0
    assert r["sentiment"] == {"kappa": 1.0, "agreement": 1.0, "pairs": 2}


def test_hand_computed_kappa_for_one_frame(tmp_path, schema):
    # a: 1 1 0 0, b: 1 0 0 0 -> po = 0.75, pe = 0.5*0.25 + 0.5*0.75 = 0.5, kappa = 0.5
    first = [{"id": str(i), "frames": ["london_elite"] if i < 2 else []} for i in range(4)]
    second = [{"id": str(i), "frames": ["london_elite"] if i < 1 else []} for i in range(4)]
    r = agreement(_labels(tmp_path, "1.jsonl", first), _labels(tmp_path, "2.jsonl", second), schema)
    assert r["frames"]["london_elite"]["kappa"] == pytest.approx(0.5)
    assert r["frames"]["london_elite"]["agreement"] == pytest.approx(0.75)


def test_only_shared_ids_and_shared_figures_are_compared(tmp_path, schema):
    first = [
        {
            "id": "a",
            "frames": [],
            "figures": [
                {"name": "X", "sentiment": "neutral"},
                {"name": "Y", "sentiment": "neutral"},
            ],
        }
    ]
    second = [
        {"id": "a", "frames": [], "figures": [{"name": "X", "sentiment": "negative"}]},
        {"id": "z", "frames": ["defend_unit"], "figures": []},
    ]
    r = agreement(_labels(tmp_path, "1.jsonl", first), _labels(tmp_path, "2.jsonl", second), schema)
    assert r["paragraphs"] == 1 and r["sentiment"]["pairs"] == 1
    assert r["sentiment"]["agreement"] == 0.0


def test_bad_line_names_file_and_line(tmp_path):
    with pytest.raises(CorpusError, match=r"x\.jsonl:2"):
        read_labels([write_jsonl(tmp_path / "x.jsonl", [{"id": "a"}, "{nope"])])
