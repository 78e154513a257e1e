from pathlib import Path

import pytest

from tests.conftest import record, write_jsonl
from training.data.corpus import CorpusError, corpus_stats, load_corpus, read_corpus

CORBYN = {
    "name": "Jeremy Corbyn",
    "mention": "Jeremy Corbyn",
    "start": 0,
    "end": 13,
    "sentiment": "neutral",
}


def errors_of(tmp_path: Path, schema, rows, registry=None):
    path = write_jsonl(tmp_path / "data.jsonl", rows)
    _, problems = read_corpus([path], schema, registry)
    return [p for p in problems if p.severity == "error"], problems


def test_valid_record_loads_with_figures(tmp_path, schema):
    path = write_jsonl(
        tmp_path / "ok.jsonl", [record(1, frames=["blame_leadership"], figures=[CORBYN])]
    )
    [para] = load_corpus([path], schema)
    assert para.frames == ("blame_leadership",)
    assert para.figures[0].name == "Jeremy Corbyn"


def test_invalid_json_is_reported_with_file_and_line(tmp_path, schema):
    errors, _ = errors_of(tmp_path, schema, [record(1), "{not json"])
    assert len(errors) == 1
    assert errors[0].line == 2 and errors[0].path.endswith("data.jsonl")
    assert "invalid JSON" in errors[0].message


def test_unknown_frame_names_the_frame(tmp_path, schema):
    errors, _ = errors_of(tmp_path, schema, [record(1, frames=["blame_media"])])
    assert "unknown frame 'blame_media'" in errors[0].message


def test_unknown_sentiment_is_an_error(tmp_path, schema):
    fig = dict(CORBYN, sentiment="angry")
    errors, _ = errors_of(tmp_path, schema, [record(1, figures=[fig])])
    assert "unknown sentiment 'angry'" in errors[0].message


def test_duplicate_id_points_to_first_occurrence(tmp_path, schema):
    errors, _ = errors_of(tmp_path, schema, [record(1), record(1)])
    assert errors[0].line == 2 and "duplicate id 't1'" in errors[0].message
    assert "data.jsonl:1" in errors[0].message


def test_mention_not_at_offsets(tmp_path, schema):
    fig = dict(CORBYN, start=1, end=14)
    errors, _ = errors_of(tmp_path, schema, [record(1, figures=[fig])])
    assert "not at offsets 1:14" in errors[0].message


def test_empty_text_is_an_error(tmp_path, schema):
    errors, _ = errors_of(tmp_path, schema, [record(1, text="   ")])
    assert errors[0].message == "empty text"


def test_missing_field_and_non_object_lines(tmp_path, schema):
    rec = record(1)
    del rec["story_id"]
    errors, _ = errors_of(tmp_path, schema, [rec, "[1, 2]"])
    assert "missing field 'story_id'" in errors[0].message
    assert "expected a JSON object" in errors[1].message


def test_unregistered_figure_is_only_a_warning(tmp_path, schema, registry):
    fig = {
        "name": "Ross Semple",
        "mention": "Ross Semple",
        "start": 0,
        "end": 11,
        "sentiment": "neutral",
    }
    errors, problems = errors_of(
        tmp_path, schema, [record(1, text="Ross Semple lost.", figures=[fig])], registry
    )
    assert errors == []
    assert [p.severity for p in problems] == ["warning"]


def test_load_corpus_raises_naming_file_and_line(tmp_path, schema):
    path = write_jsonl(tmp_path / "bad.jsonl", [record(1), record(2, frames=["nope"])])
    with pytest.raises(CorpusError, match=r"bad\.jsonl:2"):
        load_corpus([path], schema)


def test_missing_file_is_a_clear_error(tmp_path, schema):
    with pytest.raises(CorpusError, match="file not found"):
        load_corpus([tmp_path / "absent.jsonl"], schema)


def test_undecodable_bytes_are_reported(tmp_path, schema):
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        load_corpus([path], schema)


def test_stats_count_frames_none_and_multi(tmp_path, schema):
    rows = [
        record(1, frames=["blame_leadership", "london_elite"], figures=[CORBYN]),
        record(2),
        record(3, frames=["defend_unit"], figures=[dict(CORBYN, sentiment="positive")]),
    ]
    paras = load_corpus([write_jsonl(tmp_path / "d.jsonl", rows)], schema)
    s = corpus_stats(paras, schema)
    assert s["frames"] == {"blame_leadership": 1, "defend_unit": 1, "london_elite": 1}
    assert s["no_frame"] == 1 and s["multi_frame"] == 1
    assert s["sentiments"]["positive"] == {"count": 1, "share": 0.5}


def test_non_string_labels_are_reported_not_crashed(tmp_path, schema):
    fig = dict(CORBYN, sentiment=["negative"], end=True)
    errors, _ = errors_of(tmp_path, schema, [record(1, frames=[["x"]], figures=[fig])])
    messages = " | ".join(e.message for e in errors)
    assert "unknown frame" in messages and "start/end must be integers" in messages


def test_data_validate_and_stats_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from training.cli import app

    good = write_jsonl(tmp_path / "good.jsonl", [record(1), record(2, frames=["london_elite"])])
    bad = write_jsonl(tmp_path / "bad.jsonl", [record(3), "{oops", record(4, frames=["nope"])])
    ok = CliRunner().invoke(app, ["data", "validate", str(good)])
    assert ok.exit_code == 0 and "2 valid paragraphs, 0 errors" in ok.output
    fail = CliRunner().invoke(app, ["data", "validate", str(bad)])
    assert fail.exit_code == 1
    assert f"{bad}:2: error: invalid JSON" in fail.output and f"{bad}:3: error" in fail.output
    stats = CliRunner().invoke(app, ["data", "stats", str(good)])
    assert stats.exit_code == 0 and "london_elite" in stats.output and "2" in stats.output
