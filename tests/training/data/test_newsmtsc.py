"""NewsMTSC reader on tiny inline files, plus one real split if present."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest

from serving.schema import FrameDef, LabelSchema
from tests.conftest import write_jsonl
from training.data.corpus import read_corpus
from training.data.labelstudio import write_paragraphs
from training.data.newsmtsc import newsmtsc_splits, read_newsmtsc, read_newsmtsc_counted, story_id

REAL = Path(__file__).resolve().parents[4] / "shared" / "data" / "newsmtsc"

GOOD = {
    "primary_gid": "allsides_1810_737_6_Powell_44_52",
    "sentence_normalized": '"Yup, it was racist," Powell wrote, and Trump replied.',
    "targets": [
        {"Input.gid": "g1", "from": 22, "to": 28, "mention": "Powell", "polarity": 6.0},
        {
            "Input.gid": "g2",
            "from": 40,
            "to": 45,
            "mention": "Trump",
            "polarity": 2.0,
            "further_mentions": [{"from": 0, "to": 3, "mention": "Yup"}],
        },
    ],
}
ONE_BAD = {
    "primary_gid": "polusa_v1_4307505_-1_11_Seth_39_43",
    "sentence_normalized": "Seth was not robbed, police said.",
    "targets": [
        {"Input.gid": "g3", "from": 0, "to": 4, "mention": "Seth", "polarity": 4.0},
        {"Input.gid": "g4", "from": 1, "to": 5, "mention": "Seth", "polarity": 4.0},
    ],
}
ALL_BAD = {
    "primary_gid": "allsides_1_2_3_Ross_0_4",
    "sentence_normalized": "Ross spoke.",
    "targets": [{"Input.gid": "g5", "from": 5, "to": 40, "mention": "Ross", "polarity": 4.0}],
}


def split_file(tmp_path: Path, rows: list, name: str = "dev_rw.jsonl") -> Path:
    return write_jsonl(tmp_path / name, rows)


def test_sentences_become_paragraphs_with_one_figure_per_target(tmp_path, schema):
    first, second = read_newsmtsc(split_file(tmp_path, [GOOD, ONE_BAD]), schema)
    assert (first.id, first.story_id, first.source) == (
        GOOD["primary_gid"],
        "newsmtsc:allsides_1810_737",
        "newsmtsc",
    )
    assert first.frames == () and first.meta == {"frames_annotated": False, "split": "dev_rw"}
    assert [(f.name, f.mention, f.start, f.end, f.sentiment) for f in first.figures] == [
        ("Powell", "Powell", 22, 28, "positive"),
        ("Trump", "Trump", 40, 45, "negative"),
    ]
    assert second.story_id == "newsmtsc:polusa_v1_4307505_-1"
    assert [(f.mention, f.sentiment) for f in second.figures] == [("Seth", "neutral")]


def test_bad_offsets_are_skipped_and_counted(tmp_path, schema, caplog):
    path = split_file(tmp_path, [GOOD, ONE_BAD, ALL_BAD])
    paras, skipped, dropped = read_newsmtsc_counted(path, schema)
    assert (len(paras), skipped, dropped) == (2, 2, 1)
    with caplog.at_level(logging.WARNING, logger="training.data.newsmtsc"):
        assert len(read_newsmtsc(path, schema)) == 2
    assert "skipped 2 target(s)" in caplog.text and "dropped 1 sentence(s)" in caplog.text


def test_records_pass_the_corpus_validator(tmp_path, schema):
    paras = read_newsmtsc(split_file(tmp_path, [GOOD, ONE_BAD]), schema)
    out = tmp_path / "out.jsonl"
    write_paragraphs(paras, out)
    back, problems = read_corpus([out], schema)
    assert problems == [] and back == paras
    assert back[0].meta == {"frames_annotated": False, "split": "dev_rw"}


def test_folder_reads_train_split(tmp_path, schema):
    split_file(tmp_path, [GOOD], "train.jsonl")
    [para] = read_newsmtsc(tmp_path, schema)
    assert para.meta["split"] == "train"


def test_missing_path_names_it(tmp_path, schema):
    with pytest.raises(FileNotFoundError, match="absent.jsonl"):
        read_newsmtsc(tmp_path / "absent.jsonl", schema)
    with pytest.raises(FileNotFoundError, match=r"train\.jsonl"):
        read_newsmtsc(tmp_path, schema)  # a folder without train.jsonl


def test_polarity_maps_by_position_onto_a_three_class_schema(tmp_path):
    other = LabelSchema("1", (FrameDef("f"),), ("bad", "meh", "good"))
    [para] = read_newsmtsc(split_file(tmp_path, [GOOD]), other)
    assert {f.sentiment for f in para.figures} <= {"bad", "meh", "good"}


def test_schema_with_other_number_of_sentiments_is_a_clear_error(tmp_path):
    other = LabelSchema("1", (FrameDef("f"),), ("bad", "good"))
    with pytest.raises(ValueError, match="3 polarity classes"):
        read_newsmtsc(split_file(tmp_path, [GOOD]), other)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "invalid JSON"),
        ({"primary_gid": "x", "targets": []}, "missing 'sentence_normalized'"),
        ({**GOOD, "targets": [{**GOOD["targets"][0], "polarity": 5.0}]}, "unknown polarity 5.0"),
    ],
)
def test_malformed_lines_raise_with_file_and_line(tmp_path, schema, row, message):
    path = split_file(tmp_path, [GOOD, row])
    with pytest.raises(ValueError, match=message) as exc:
        read_newsmtsc(path, schema)
    assert f"{path}:2:" in str(exc.value)


def test_splits_present_in_a_folder(tmp_path):
    for name in ("test_rw", "train", "notes"):
        (tmp_path / f"{name}.jsonl").write_text("", encoding="utf-8")
    assert newsmtsc_splits(tmp_path) == {
        "train": tmp_path / "train.jsonl",
        "test_rw": tmp_path / "test_rw.jsonl",
    }
    with pytest.raises(FileNotFoundError, match="NewsMTSC folder not found"):
        newsmtsc_splits(tmp_path / "missing")


def test_story_id_falls_back_to_the_gid():
    assert story_id("somewhere_else_7") == "somewhere_else_7"


@pytest.mark.skipif(not (REAL / "test_rw.jsonl").is_file(), reason="NewsMTSC not present")
def test_real_test_rw_split(schema):
    paras, skipped, dropped = read_newsmtsc_counted(REAL / "test_rw.jsonl", schema)
    sentiments = Counter(f.sentiment for p in paras for f in p.figures)
    assert (len(paras), skipped, dropped) == (747, 0, 0)
    assert sum(sentiments.values()) == 803
    assert sentiments == {"negative": 295, "neutral": 319, "positive": 189}
    assert set(newsmtsc_splits(REAL)) == {"train", "dev_rw", "dev_mt", "test_rw", "test_mt"}
