"""Label Studio and doccano import/export (training/interop.py) and their CLI commands."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from serving.schema import FrameDef, LabelSchema
from tests.conftest import REPO, record, write_jsonl
from training.cli import app
from training.data.corpus import FigureLabel, Paragraph, read_corpus
from training.data.doccano import import_doccano
from training.data.labelstudio import (
    export_labelstudio,
    import_labelstudio,
    labels_as_prediction,
    labelstudio_config,
)

TEXT = "Jeremy Corbyn's aides blamed Ms Murphy, and Keir Starmer said nothing."
STAMP = "2024-05-02T10:11:12.123456Z"


# ----------------------------------------------------------------- Label Studio export shape
def choices(*frames: str) -> dict:
    return {
        "id": "Xk2v9aQ1Lm",
        "from_name": "frames",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": list(frames)},
        "origin": "manual",
    }


def span(rid: str, start: int, end: int, text: str, sentiment: str) -> dict:
    return {
        "id": rid,
        "from_name": "sentiment",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "text": text, "labels": [sentiment]},
        "origin": "manual",
    }


def name(rid: str, start: int, end: int, canonical: str) -> dict:
    return {
        "id": rid,
        "from_name": "figure",
        "to_name": "text",
        "type": "textarea",
        "value": {"start": start, "end": end, "text": [canonical]},
        "origin": "manual",
    }


def annotation(aid: int, task_id: int, result: list, cancelled: bool = False) -> dict:
    """One annotation as Label Studio 1.x exports it."""
    return {
        "id": aid,
        "completed_by": 1,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": STAMP,
        "updated_at": STAMP,
        "draft_created_at": None,
        "lead_time": 41.7,
        "prediction": {},
        "result_count": 0,
        "unique_id": f"5c1a2e0e-0000-4000-8000-{aid:012d}",
        "import_id": None,
        "last_action": None,
        "task": task_id,
        "project": 3,
        "updated_by": 1,
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }


def ls_task(tid: int, annotations: list, data: dict | None = None) -> dict:
    """One task of a Label Studio 1.x JSON export."""
    return {
        "id": tid,
        "annotations": annotations,
        "file_upload": "1b2c3d4e-tasks.json",
        "drafts": [],
        "predictions": [],
        "data": data or {"id": f"p{tid}", "story_id": "s1", "source": "test", "text": TEXT},
        "meta": {},
        "created_at": STAMP,
        "updated_at": STAMP,
        "inner_id": tid,
        "total_annotations": len(annotations),
        "cancelled_annotations": sum(a["was_cancelled"] for a in annotations),
        "total_predictions": 0,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": 3,
        "updated_by": 1,
        "comment_authors": [],
    }


def done(tid: int, result: list, data: dict | None = None) -> dict:
    return ls_task(tid, [annotation(100 + tid, tid, result)], data)


def run_import(tmp_path: Path, tasks, schema, registry, name_: str = "export.json"):
    path = tmp_path / name_
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return import_labelstudio(path, schema, registry, "ls")


def errors(problems) -> list:
    return [p for p in problems if p.severity == "error"]


PARAS = [
    Paragraph(
        "p1",
        "s1",
        "written",
        TEXT,
        ("blame_leadership",),
        (
            FigureLabel("Jeremy Corbyn", "Jeremy Corbyn", 0, 13, "negative"),
            FigureLabel("Karie Murphy", "Ms Murphy", 29, 38, "neutral"),
            FigureLabel("Keir Starmer", "Keir Starmer", 44, 56, "positive"),
        ),
        {"genre": "news"},
    ),
    Paragraph("p2", "s1", "written", "Nothing to see here.", (), (), {"genre": "opinion"}),
    Paragraph(
        "p3",
        "s2",
        "written",
        "Jezza, the party of London.",
        ("london_elite", "blame_leadership"),
        (FigureLabel("Jeremy Corbyn", "Jezza", 0, 5, "negative"),),
    ),
]


# --------------------------------------------------------------------------------- config
def test_config_lists_schema_frames_and_sentiments(schema):
    root = ET.fromstring(labelstudio_config(schema))
    frames = root.find("Choices")
    assert frames.get("name") == "frames" and frames.get("choice") == "multiple"
    assert [c.get("value") for c in frames] == schema.frame_names
    assert [lab.get("value") for lab in root.find("Labels")] == list(schema.sentiments)
    area = root.find(".//TextArea")
    assert area.get("name") == "figure" and area.get("perRegion") == "true"


def test_config_names_come_from_the_schema_not_the_code():
    other = LabelSchema("2", (FrameDef("x_frame", 'says "hi" & <b>'),), ("bad", "good"))
    root = ET.fromstring(labelstudio_config(other))
    assert [c.get("value") for c in root.find("Choices")] == ["x_frame"]
    assert root.find("Choices")[0].get("hint") == 'says "hi" & <b>'
    assert [lab.get("value") for lab in root.find("Labels")] == ["bad", "good"]


# --------------------------------------------------------------------------------- export
def test_export_without_predictions_or_labels_has_task_data_only(schema):
    [task, *_] = export_labelstudio(PARAS, schema, with_labels=False)
    assert task == {
        "data": {
            "id": "p1",
            "story_id": "s1",
            "source": "written",
            "genre": "news",
            "text": TEXT,
        }
    }


def test_export_predictions_in_label_studio_shape(schema):
    pred = {
        "model_version": "tiny-1",
        "frames": [  # ParagraphResult.to_dict(): present comes from the model's own thresholds
            {"label": "blame_leadership", "score": 0.9, "present": True},
            {"label": "defend_unit", "score": 0.2, "present": False},
            {"label": "london_elite", "score": 0.4, "present": True},
        ],
        "figures": [
            {
                "name": "Jeremy Corbyn",
                "mention": "Jeremy Corbyn",
                "start": 0,
                "end": 13,
                "sentiment": "negative",
                "scores": {"negative": 0.7, "neutral": 0.2, "positive": 0.1},
            }
        ],
    }
    [task] = export_labelstudio(PARAS[:1], schema, [pred])
    [entry] = task["predictions"]
    assert entry["model_version"] == "tiny-1"
    assert entry["score"] == 0.6  # the least confident decision: london_elite at 0.4
    frames, label, area = entry["result"]
    assert (frames["from_name"], frames["to_name"], frames["type"]) == ("frames", "text", "choices")
    assert frames["value"] == {"choices": ["blame_leadership", "london_elite"]}
    assert (label["from_name"], label["type"]) == ("sentiment", "labels")
    assert label["value"] == {
        "start": 0,
        "end": 13,
        "text": "Jeremy Corbyn",
        "labels": ["negative"],
    }
    assert (area["from_name"], area["type"], area["id"]) == ("figure", "textarea", label["id"])
    assert area["value"] == {"start": 0, "end": 13, "text": ["Jeremy Corbyn"]}


def test_frame_evidence_is_exported_as_highlighted_sentences_and_ignored_on_import(
    tmp_path, schema, registry
):
    text = PARAS[0].text
    pred = {
        "model_version": "tiny-1",
        "frames": [
            {
                "label": name,
                "score": 0.9 if k == 0 else 0.1,
                "present": k == 0,
                "evidence": [{"start": 0, "end": 5, "text": text[:5], "score": 0.8}]
                if k == 0
                else [],
            }
            for k, name in enumerate(schema.frame_names)
        ],
        "figures": [],
    }
    [task] = export_labelstudio(PARAS[:1], schema, [pred])
    [highlight] = [r for r in task["predictions"][0]["result"] if r["from_name"] == "evidence"]
    assert highlight["type"] == "labels" and highlight["score"] == 0.8
    assert highlight["value"] == {
        "start": 0,
        "end": 5,
        "text": text[:5],
        "labels": [schema.frame_names[0]],
    }
    root = ET.fromstring(labelstudio_config(schema))
    [evidence] = [el for el in root.iter("Labels") if el.get("name") == "evidence"]
    assert [lab.get("value") for lab in evidence] == schema.frame_names
    task["annotations"][0]["result"].append(highlight)  # a reviewer kept the highlight
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([task]))
    paragraphs, problems = import_labelstudio(path, schema, registry)
    assert not problems and paragraphs[0].frames == PARAS[0].frames


def test_export_accepts_frame_score_maps_with_a_threshold(schema):
    pred = {"model_version": "m", "frames": {"defend_unit": 0.55, "london_elite": 0.3}}
    [task] = export_labelstudio(PARAS[1:2], schema, [{**pred, "figures": []}], frame_threshold=0.5)
    assert task["predictions"][0]["result"][0]["value"] == {"choices": ["defend_unit"]}
    assert task["predictions"][0]["score"] == 0.55


def test_export_rejects_foreign_labels_and_count_mismatch(schema):
    bad = labels_as_prediction(PARAS[0])
    bad["frames"] = {"blame_media": 0.9}
    with pytest.raises(ValueError, match="p1.*unknown frame.*blame_media"):
        export_labelstudio(PARAS[:1], schema, [bad])
    with pytest.raises(ValueError, match="2 predictions for 1 paragraphs"):
        export_labelstudio(PARAS[:1], schema, [bad, bad])


# ------------------------------------------------------------------------------ round trip
def test_export_then_import_is_the_identity_on_labelled_records(tmp_path, schema, registry):
    back, problems = run_import(tmp_path, export_labelstudio(PARAS, schema), schema, registry)
    assert errors(problems) == []
    assert [p.to_dict() for p in back] == [p.to_dict() for p in PARAS]


def test_export_then_import_is_the_identity_on_the_transfer_set(tmp_path, schema, registry):
    paras, _ = read_corpus([REPO / "labels/corpus/transfer/transfer.jsonl"], schema)
    back, problems = run_import(tmp_path, export_labelstudio(paras, schema), schema, registry)
    assert errors(problems) == [] and len(back) == len(paras) > 400
    assert [p.to_dict() for p in back] == [p.to_dict() for p in paras]


def test_round_trip_export_annotate_import(tmp_path, schema, registry):
    tasks = export_labelstudio(
        PARAS, schema, [labels_as_prediction(p) for p in PARAS], with_labels=False
    )
    exported = []
    for tid, task in enumerate(tasks, start=1):
        # The annotator accepts the pre-annotation: Label Studio copies it into an annotation.
        result = [{**r, "origin": "prediction"} for r in task["predictions"][0]["result"]]
        exported.append(done(tid, result, task["data"]))
    back, problems = run_import(tmp_path, exported, schema, registry)
    assert problems == []
    assert back == PARAS
    assert [p.to_dict() for p in back] == [p.to_dict() for p in PARAS]


def test_names_resolved_through_registry_when_not_carried(tmp_path, schema, registry):
    text = "Mr Corbyn's aides met Jezza and Ross Semple at the bar."
    result = [
        span("a", 0, 11, "Mr Corbyn's", "negative"),  # possessive included by the annotator
        span("b", 22, 27, "Jezza", "negative"),  # same person: only the first mention is kept
        span("c", 32, 43, "Ross Semple", "neutral"),
        span("d", 51, 55, "bar.", "neutral"),
    ]
    data = {"id": "q1", "text": text}
    [para], problems = run_import(tmp_path, [done(9, result, data)], schema, registry)
    assert [(f.name, f.mention) for f in para.figures] == [
        ("Jeremy Corbyn", "Mr Corbyn"),  # the possessive is trimmed
        ("Ross Semple", "Ross Semple"),
        ("bar.", "bar."),
    ]
    assert (para.story_id, para.source) == ("q1", "ls")
    assert errors(problems) == []
    assert any("'Ross Semple' is not in the registry" in p.message for p in problems)


def test_task_without_our_data_ids_gets_defaults(tmp_path, schema, registry):
    [para], _ = run_import(tmp_path, [done(41, [], {"text": "Plain text."})], schema, registry)
    assert (para.id, para.story_id, para.source) == ("ls-41", "ls-41", "ls")


def test_last_non_cancelled_annotation_wins(tmp_path, schema, registry):
    task = ls_task(
        5,
        [
            annotation(1, 5, [choices("defend_unit")]),
            annotation(2, 5, [choices("london_elite")]),
            annotation(3, 5, [choices("blame_leadership")], cancelled=True),
        ],
    )
    [para], _ = run_import(tmp_path, [task], schema, registry)
    assert para.frames == ("london_elite",)


def test_second_mention_with_other_sentiment_is_a_warning(tmp_path, schema, registry):
    text = "Jeremy Corbyn lost; Mr Corbyn smiled."
    result = [
        span("a", 0, 13, "Jeremy Corbyn", "negative"),
        span("b", 20, 29, "Mr Corbyn", "positive"),
    ]
    [para], problems = run_import(tmp_path, [done(1, result, {"text": text})], schema, registry)
    assert [(f.mention, f.sentiment) for f in para.figures] == [("Jeremy Corbyn", "negative")]
    assert "kept the first mention" in problems[0].message
    assert problems[0].severity == "warning"


def test_utf16_offsets_from_old_label_studio_are_converted(tmp_path, schema, registry):
    text = "🚀 Jeremy Corbyn spoke."
    result = [span("a", 3, 16, "Jeremy Corbyn", "neutral")]  # UTF-16: the emoji counts twice
    [para], problems = run_import(tmp_path, [done(1, result, {"text": text})], schema, registry)
    assert (para.figures[0].start, para.figures[0].end) == (2, 15)
    assert "UTF-16 offsets converted" in problems[0].message


# ------------------------------------------------------------------------------ bad input
def test_cancelled_only_and_unannotated_tasks_are_reported(tmp_path, schema, registry):
    tasks = [
        done(1, [choices("defend_unit")]),
        ls_task(7, [annotation(70, 7, [choices("defend_unit")], cancelled=True)]),
        ls_task(8, []),
    ]
    paras, problems = run_import(tmp_path, tasks, schema, registry)
    assert [p.id for p in paras] == ["p1"]
    assert [(p.line, p.severity) for p in problems] == [(2, "error"), (3, "error")]
    assert problems[0].path.endswith("export.json")
    assert "task id 7: no completed annotation" in problems[0].message
    assert str(problems[1]).startswith(f"{tmp_path / 'export.json'}:3: error: task id 8:")


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ([choices("blame_media")], "unknown frame 'blame_media'"),
        ([span("a", 0, 13, "Jeremy Corbyn", "angry")], "unknown sentiment 'angry'"),
        ([span("a", 1, 14, "Jeremy Corbyn", "neutral")], 'does not match text "eremy Corbyn\'"'),
        ([span("a", 60, 99, "Jeremy Corbyn", "neutral")], "does not match"),
        ([{**span("a", 0, 13, "x", "neutral"), "value": {"start": 0, "end": 13}}], "exactly one"),
        (["oops"], "result[0] is not an object"),
    ],
)
def test_invalid_annotation_is_an_error_naming_the_task(
    tmp_path, schema, registry, result, message
):
    paras, problems = run_import(tmp_path, [done(1, []), done(4, result)], schema, registry)
    assert [p.id for p in paras] == ["p1"]
    [problem] = errors(problems)
    assert problem.line == 2 and "task id 4:" in problem.message and message in problem.message


def test_duplicate_paragraph_id_is_an_error(tmp_path, schema, registry):
    paras, problems = run_import(
        tmp_path, [done(1, []), done(2, [], {"id": "p1", "text": "x"})], schema, registry
    )
    assert len(paras) == 1
    assert "duplicate id 'p1' (first at task 1)" in problems[0].message


def test_invalid_json_file_is_a_problem(tmp_path, schema, registry):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": 1,\n  "data": }]', encoding="utf-8")
    paras, [problem] = import_labelstudio(path, schema, registry, "ls")
    assert paras == [] and problem.line == 2 and "invalid JSON" in problem.message
    assert problem.path == str(path)


def test_export_that_is_not_a_list_is_a_problem(tmp_path, schema, registry):
    paras, [problem] = run_import(tmp_path, {"tasks": []}, schema, registry)
    assert paras == [] and "list of tasks" in problem.message and "dict" in problem.message


def test_missing_export_file_is_a_problem(tmp_path, schema, registry):
    _, [problem] = import_labelstudio(tmp_path / "absent.json", schema, registry, "ls")
    assert problem.message == "file not found" and problem.path.endswith("absent.json")


# ---------------------------------------------------------------------------------- doccano
def test_doccano_spans_document_labels_and_ids(tmp_path, schema, registry):
    rows = [
        {
            "id": 17,
            "text": TEXT,
            "label": [[0, 13, "negative"], "blame_leadership", [44, 56, "positive"]],
            "Comments": [],
        },
        {
            "id": 18,
            "text": "Jezza spoke.",
            "entities": [{"id": 1, "start_offset": 0, "end_offset": 5, "label": "neutral"}],
            "cats": {"london_elite": True, "defend_unit": False},
            "meta": {"id": "w1-p2", "story_id": "w1", "source": "written", "genre": "news"},
        },
    ]
    paras, problems = import_doccano(write_jsonl(tmp_path / "d.jsonl", rows), schema, registry)
    assert problems == []
    first, second = paras
    assert (first.id, first.story_id, first.source) == ("doccano-17", "doccano-17", "doccano")
    assert first.frames == ("blame_leadership",)
    assert [(f.name, f.sentiment) for f in first.figures] == [
        ("Jeremy Corbyn", "negative"),
        ("Keir Starmer", "positive"),
    ]
    assert (second.id, second.story_id, second.source) == ("w1-p2", "w1", "written")
    assert second.meta == {"genre": "news"}
    assert second.frames == ("london_elite",)
    assert second.figures == (FigureLabel("Jeremy Corbyn", "Jezza", 0, 5, "neutral"),)


def test_doccano_problems_carry_file_and_line(tmp_path, schema, registry):
    rows = [
        {"id": 1, "text": TEXT, "label": [[0, 13, "blame_leadership"]]},
        "{not json",
        {"id": 3, "text": TEXT, "label": ["negative"]},
        {"id": 4, "text": TEXT, "label": [[60, 99, "neutral"]]},
        {"id": 5, "text": TEXT, "label": [[0, 13]]},
        {"id": 6, "label": []},
        {"id": 7, "text": TEXT, "label": []},
    ]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    paras, problems = import_doccano(path, schema, registry)
    assert [p.id for p in paras] == ["doccano-7"]
    found = {(p.line, p.message.split(" (")[0]) for p in problems}
    assert {line for line, _ in found} == {1, 2, 3, 4, 5, 6}
    assert (1, "span 0:13: unknown sentiment 'blame_leadership'") in found
    assert (3, "unknown frame 'negative'") in found
    assert all(p.path == str(path) for p in problems)


def test_doccano_missing_file(tmp_path, schema, registry):
    _, [problem] = import_doccano(tmp_path / "nope.jsonl", schema, registry)
    assert problem.message == "file not found"


# -------------------------------------------------------------------------------------- CLI
runner = CliRunner()
LABELS = ["--labels", str(REPO / "labels")]


def test_cli_export_labelstudio_writes_tasks_and_config(tmp_path):
    fig = {"name": "Jeremy Corbyn", "mention": "Jeremy Corbyn", "start": 0, "end": 13}
    rows = [record(1, frames=["defend_unit"], figures=[{**fig, "sentiment": "neutral"}])]
    corpus = write_jsonl(tmp_path / "c.jsonl", rows + [record(2)])
    out = tmp_path / "tasks.json"
    res = runner.invoke(
        app, ["data", "export-labelstudio", str(corpus), "--out", str(out), *LABELS]
    )
    assert res.exit_code == 0, res.output
    assert "2 tasks written" in res.stdout
    tasks = json.loads(out.read_text())
    assert [t["data"]["id"] for t in tasks] == ["t1", "t2"]
    assert ET.fromstring((tmp_path / "tasks.xml").read_text()).tag == "View"


def test_cli_export_with_model_evidence_highlights_predicted_frames(tmp_path, trained_models):
    text = (
        "The count ran late. Jeremy Corbyn's aides sent activists to seats Labour could never win."
    )
    corpus = write_jsonl(tmp_path / "c.jsonl", [{**record(1), "text": text}])
    out = tmp_path / "tasks.json"
    args = ["data", "export-labelstudio", str(corpus), "--out", str(out), "--model", "baseline"]
    res = runner.invoke(app, [*args, "--evidence", *LABELS])
    assert res.exit_code == 0, res.output
    [task] = json.loads(out.read_text())
    result = task["predictions"][0]["result"]
    present = result[0]["value"]["choices"]
    assert present, "the tiny baseline predicts a frame here, so highlights are checked"
    highlighted = {r["value"]["labels"][0] for r in result if r["from_name"] == "evidence"}
    assert highlighted == set(present)
    assert all(
        text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]
        for r in result
        if r["from_name"] == "evidence"
    )


def test_cli_export_labelstudio_refuses_an_invalid_corpus(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [record(1, frames=["nope"])])
    out = tmp_path / "tasks.json"
    res = runner.invoke(
        app, ["data", "export-labelstudio", str(corpus), "--out", str(out), *LABELS]
    )
    assert res.exit_code == 1 and "unknown frame 'nope'" in res.stderr
    assert not out.exists()


def test_cli_import_labelstudio_writes_valid_records_and_reports(tmp_path, schema):
    tasks = [
        done(1, [choices("defend_unit"), span("a", 0, 13, "Jeremy Corbyn", "negative")]),
        ls_task(2, [annotation(20, 2, [], cancelled=True)]),
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(
        app,
        ["data", "import-labelstudio", str(export), "--out", str(out), "--source", "x", *LABELS],
    )
    assert res.exit_code == 1
    assert f"{export}:2: error: task id 2: no completed annotation" in res.stderr
    assert "1 paragraphs written" in res.stdout
    paras, problems = read_corpus([out], schema)
    assert problems == [] and paras[0].figures[0].name == "Jeremy Corbyn"


def test_cli_import_labelstudio_clean_export_exits_zero(tmp_path):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([done(1, [choices("london_elite")])]), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(
        app, ["data", "import-labelstudio", str(export), "--out", str(out), *LABELS]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["frames"] == ["london_elite"]


def test_cli_import_doccano(tmp_path, schema):
    src = write_jsonl(
        tmp_path / "d.jsonl", [{"id": 3, "text": TEXT, "label": [[0, 13, "neutral"]]}]
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["data", "import-doccano", str(src), "--out", str(out), *LABELS])
    assert res.exit_code == 0, res.output
    assert "1 paragraphs written" in res.stdout
    [para], problems = read_corpus([out], schema)
    assert problems == [] and para.id == "doccano-3"


def test_non_string_labels_are_errors_not_crashes(tmp_path, schema, registry):
    rows = [{"id": 1, "text": TEXT, "label": [[0, 13, ["neutral"]]], "cats": [["defend_unit"]]}]
    paras, problems = import_doccano(write_jsonl(tmp_path / "d.jsonl", rows), schema, registry)
    assert paras == []
    assert {p.message.split(" (")[0] for p in problems} == {
        "span 0:13: unknown sentiment ['neutral']",
        "unknown frame ['defend_unit']",
    }
