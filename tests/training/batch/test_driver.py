"""Batch labelling: every input format, bad rows, outputs, resume after a real SIGKILL, fallback."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from serving.predictors.factory import load_predictor
from tests.conftest import REPO, TINY, write_jsonl
from training.batch.driver import errors_path, label_corpus, parts_dir
from training.batch.readers import LabelError, LabelOptions
from training.cli import app

TEXTS = [text for _, text, _, _ in TINY]
PROVENANCE = ("file", "line", "row")


def run(inputs, out, **kw):
    kw.setdefault("model", "baseline")
    kw.setdefault("progress", False)
    return label_corpus(inputs, out, LabelOptions(**kw))


def rows(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_jsonl_rows_have_provenance_and_exactly_the_service_fields(trained_models, tmp_path):
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"key": f"k{i}", "body": t} for i, t in enumerate(TEXTS[:5])] + [{"body": TEXTS[5]}],
    )
    summary = run([src], tmp_path / "out.jsonl", text_field="body", id_field="key")
    out = rows(tmp_path / "out.jsonl")
    assert (summary.labelled, summary.bad) == (6, 0)
    assert [r["id"] for r in out] == ["k0", "k1", "k2", "k3", "k4", "in.jsonl:6"]
    assert [(r["file"], r["line"], r["row"]) for r in out][-1] == (str(src), 6, None)
    predictor = load_predictor("baseline")
    for r, text in zip(out, TEXTS, strict=False):
        [expected] = predictor.predict([text], [r["id"]])
        assert {k: v for k, v in r.items() if k not in PROVENANCE} == expected.to_dict()
    assert errors_path(tmp_path / "out.jsonl").read_text() == ""
    assert not parts_dir(tmp_path / "out.jsonl").exists()


def test_csv_input_with_quoted_newlines_and_missing_ids(trained_models, tmp_path):
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "other"])
        writer.writerow(["a", "A paragraph\nacross two lines.", "x"])
        writer.writerow(["", TEXTS[0], "y"])
        writer.writerow(["c", TEXTS[1], "z"])
    out = rows(run([src], tmp_path / "out.jsonl").out)
    assert [(r["id"], r["line"], r["row"]) for r in out] == [
        ("a", 3, 0),
        ("in.csv:1", 4, 1),
        ("c", 5, 2),
    ]


def test_parquet_input_streams_batches_and_names_missing_ids(trained_models, tmp_path):
    src = tmp_path / "in.parquet"
    n = 10
    ids = [f"p{i}" if i % 3 else None for i in range(n)]
    table = pa.table({"id": ids, "text": [TEXTS[i % len(TEXTS)] for i in range(n)]})
    pq.write_table(table, src, row_group_size=4)
    out = rows(run([src], tmp_path / "out.jsonl").out)
    assert [r["id"] for r in out] == [i or f"in.parquet:{k}" for k, i in enumerate(ids)]
    assert [r["row"] for r in out] == list(range(n)) and {r["line"] for r in out} == {None}


def test_txt_article_is_split_into_paragraphs(trained_models, tmp_path):
    src = tmp_path / "article.txt"
    src.write_text(f"{TEXTS[0]}\n\n{TEXTS[1]}\n{TEXTS[2]}\n   \n", encoding="utf-8")
    out = rows(run([src], tmp_path / "out.jsonl").out)
    assert [(r["id"], r["line"]) for r in out] == [
        ("article:p0", 1),
        ("article:p1", 3),
        ("article:p2", 4),
    ]


def test_folder_recurses_over_every_format_and_mixes_with_files(trained_models, tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(f"{TEXTS[0]}\n{TEXTS[1]}\n", encoding="utf-8")
    write_jsonl(folder / "sub" / "b.jsonl", [{"text": TEXTS[2]}, {"id": "b2", "text": TEXTS[3]}])
    (folder / "sub" / "c.csv").write_text(f"text\n{TEXTS[4]}\n", encoding="utf-8")
    pq.write_table(pa.table({"text": [TEXTS[5]]}), folder / "sub" / "d.parquet")
    (folder / "notes.md").write_text("not an input")
    write_jsonl(folder / ".hidden.jsonl", [{"text": "hidden files are skipped"}])
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"id": "e1", "text": TEXTS[6]}])
    summary = run([extra, folder], tmp_path / "out.jsonl")
    ids = [r["id"] for r in rows(summary.out)]
    assert ids == ["e1", "a:p0", "a:p1", "sub/b.jsonl:1", "b2", "sub/c.csv:0", "sub/d.parquet:0"]


def test_bad_rows_are_reported_with_reason_and_counted(trained_models, tmp_path):
    jsonl = tmp_path / "in.jsonl"
    good = json.dumps({"id": "g1", "text": TEXTS[0]}).encode()
    jsonl.write_bytes(
        b"\n".join(
            [
                good,
                b'{"id": "broken", "text": ',  # invalid JSON
                b'{"id": "none"}',  # missing text
                b'{"id": "num", "text": 42}',  # non-string text
                b'{"id": "bytes", "text": "caf\xe9"}',  # undecodable bytes (Latin-1)
                json.dumps({"id": "long", "text": "x " * 200}).encode(),  # oversize
                b'{"id": "blank", "text": "   "}',  # empty text
                b"[1, 2]",  # not an object
                json.dumps({"id": "g2", "text": TEXTS[1]}).encode(),
            ]
        )
        + b"\n"
    )
    bad_csv = tmp_path / "in.csv"
    bad_csv.write_bytes(b'id,text\nc1,"' + TEXTS[2].encode() + b'"\nc2,"bad \xff"\nc3\n')
    bad_parquet = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"text": pa.array([TEXTS[3].encode(), b"\xff\xfe", None], pa.binary())}),
        bad_parquet,
    )
    no_column = write_jsonl(tmp_path / "wrong.csv", ["body", "some text"])

    summary = run([jsonl, bad_csv, bad_parquet, no_column], tmp_path / "out.jsonl", max_chars=200)
    assert [r["id"] for r in rows(summary.out)] == ["g1", "g2", "c1", "in.parquet:0"]
    errors = rows(errors_path(summary.out))
    got = [(e["file"].rsplit("/", 1)[-1], e["line"], e["row"], e["error"]) for e in errors]
    assert got == [
        ("in.jsonl", 2, None, "invalid_json"),
        ("in.jsonl", 3, None, "missing_text"),
        ("in.jsonl", 4, None, "not_string"),
        ("in.jsonl", 5, None, "undecodable"),
        ("in.jsonl", 6, None, "oversize"),
        ("in.jsonl", 7, None, "empty_text"),
        ("in.jsonl", 8, None, "not_object"),
        ("in.csv", 3, 1, "undecodable"),
        ("in.csv", 4, 2, "missing_text"),
        ("in.parquet", None, 1, "undecodable"),
        ("in.parquet", None, 2, "missing_text"),
        ("wrong.csv", 1, None, "missing_column"),
    ]
    assert all(e["reason"] for e in errors)
    assert "400 characters, over the limit of 200" in errors[4]["reason"]
    assert (summary.labelled, summary.bad) == (4, len(errors))


def test_parquet_output_holds_the_same_rows_as_jsonl(trained_models, tmp_path):
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": f"i{i}", "text": t} for i, t in enumerate(TEXTS)]
    )
    as_jsonl = rows(run([src], tmp_path / "out.jsonl", chunk_size=5).out)
    table = pq.read_table(run([src], tmp_path / "out.parquet", chunk_size=5).out)
    assert table.num_rows == len(TEXTS) and table.to_pylist() == as_jsonl
    sentiments = list(load_predictor("baseline").schema.sentiments)
    scores = table.schema.field("figures").type.value_type.field("scores").type
    assert [scores.field(i).name for i in range(scores.num_fields)] == sentiments


def test_existing_output_or_unfinished_run_needs_resume_or_overwrite(
    trained_models, tmp_path, monkeypatch
):
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": f"i{i}", "text": t} for i, t in enumerate(TEXTS)]
    )
    out = tmp_path / "out.jsonl"
    first = run([src], out, chunk_size=4).out.read_text()
    with pytest.raises(LabelError, match="--overwrite"):
        run([src], out)

    def die(*args):
        raise RuntimeError("killed while assembling")

    monkeypatch.setattr("training.batch.driver.assemble", die)
    with pytest.raises(RuntimeError):
        run([src], out, overwrite=True, chunk_size=4)
    monkeypatch.undo()
    assert parts_dir(out).is_dir()
    with pytest.raises(LabelError, match=r"--resume .*--overwrite"):
        run([src], out)
    with pytest.raises(LabelError, match="text_field changed"):
        run([src], out, resume=True, text_field="body")
    summary = run([src], out, resume=True)
    assert out.read_text() == first and summary.processed == 0
    assert not parts_dir(out).exists()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("predict", "transformer_error"), ("load", "transformer_unavailable"), (None, None)],
)
def test_auto_falls_back_to_the_baseline(trained_models, tmp_path, monkeypatch, fault, reason):
    if fault:
        monkeypatch.setenv("STANCEFRAME_FAIL_TRANSFORMER", fault)
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS[:4]])
    summary = run([src], tmp_path / "out.jsonl", model="auto")
    out = rows(summary.out)
    model = "baseline" if fault else "transformer"
    assert {(r["model"], r["fallback_reason"]) for r in out} == {(model, reason)}
    assert summary.fallback == (4 if fault else 0)


def test_local_engine_never_imports_ray(trained_models, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # any `import ray` now raises ImportError
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": TEXTS[0]}])
    assert run([src], tmp_path / "out.jsonl").labelled == 1


def test_cli_prints_one_summary_line_and_refuses_to_clobber(trained_models, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS[:3]])
    args = ["label", str(src), "--out", str(tmp_path / "o.jsonl"), "--model", "baseline"]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        r"labelled 3 rows, 0 bad rows, [\d.]+ s, [\d.]+ rows/s -> \S+\n", result.output
    )
    again = CliRunner().invoke(app, [*args, "--no-progress"])
    assert again.exit_code == 1 and "--overwrite" in again.output


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_evidence_flag_adds_sentences_to_every_frame_and_figure(trained_models, tmp_path, suffix):
    text = "The count ran late. Ruth Smeeth blamed the leader's office for the defeat."
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": text}, {"id": "b", "text": "x"}])
    out = tmp_path / f"o{suffix}"
    args = ["label", str(src), "--out", str(out), "--model", "baseline", "--evidence"]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in out.open()]
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(out).to_pylist()
    first = rows[0]
    assert all(isinstance(f["evidence"], list) for f in first["frames"])
    assert all(bool(f["evidence"]) == f["present"] for f in first["frames"])
    [figure] = first["figures"]
    assert figure["evidence"]["text"] == "Ruth Smeeth blamed the leader's office for the defeat."


def test_resume_after_sigkill_gives_every_id_exactly_once(trained_models, tmp_path):
    n, bad_lines = 6000, {1000, 3500, 5999}
    lines = [
        "{oops" if i in bad_lines else json.dumps({"id": f"r{i}", "text": f"{TEXTS[i % 18]} {i}"})
        for i in range(n)
    ]
    src = write_jsonl(tmp_path / "big.jsonl", lines)
    out = tmp_path / "out.jsonl"
    state = parts_dir(out) / "state.json"
    cmd = [
        sys.executable,
        "-m",
        "training.cli",
        "label",
        str(src),
        "--out",
        str(out),
        "--model",
        "baseline",
        "--chunk-size",
        "40",
        "--batch-size",
        "40",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["parts"] >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL

    committed = json.loads(state.read_text())
    assert 0 < committed["next_pos"] < n and not out.exists()
    for i in range(committed["parts"]):  # every committed part is whole, valid JSONL
        assert all(json.loads(line) for line in (parts_dir(out) / f"part-{i:06d}.jsonl").open())

    refused = CliRunner().invoke(app, cmd[3:])
    assert refused.exit_code == 1 and "--resume" in refused.output

    resumed = subprocess.run(
        [*cmd, "--resume"],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"labelled {n - 3} rows, 3 bad rows" in resumed.stdout
    assert "resumed after" in resumed.stdout
    ids = Counter(r["id"] for r in rows(out))
    assert set(ids) == {f"r{i}" for i in range(n) if i not in bad_lines}
    assert max(ids.values()) == 1
    assert sorted(e["line"] for e in rows(errors_path(out))) == [i + 1 for i in sorted(bad_lines)]
    assert not parts_dir(out).exists()


def test_resume_fingerprint_pins_the_stored_model_versions(trained_models):
    from training.batch.driver import model_tags

    assert model_tags("baseline") == [trained_models["baseline"]]
    assert model_tags("auto") == [trained_models["transformer"], trained_models["baseline"]]
    assert model_tags("no-such-model") == ["no-such-model:absent"]


def test_unterminated_quote_is_reported_and_the_rows_after_it_are_labelled(
    trained_models, tmp_path
):
    src = tmp_path / "in.csv"
    src.write_text(
        'id,text\na,Labour won Putney.\nb,"Aides were blamed, one MP said\n'
        "c,The unit held the line.\nd,Another row.\n",
        encoding="utf-8",
    )
    summary = run([src], tmp_path / "o.jsonl")
    assert [r["id"] for r in rows(tmp_path / "o.jsonl")] == ["a", "c", "d"]
    [bad] = rows(errors_path(tmp_path / "o.jsonl"))
    assert (bad["line"], bad["error"]) == (3, "unterminated_quote")
    assert (summary.labelled, summary.bad) == (3, 1)


def test_quoted_newline_in_the_last_row_is_not_an_unterminated_quote(trained_models, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text\na,"two\nlines ""quoted"""\n', encoding="utf-8")
    run([src], tmp_path / "o.jsonl")
    [row] = rows(tmp_path / "o.jsonl")
    assert row["id"] == "a" and not errors_path(tmp_path / "o.jsonl").read_text()


def test_folder_without_readable_files_is_an_error_naming_what_was_skipped(
    trained_models, tmp_path
):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.docx").write_bytes(b"x")
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(
        app, ["label", str(tmp_path / "in"), "--out", str(out), "--model", "baseline"]
    )
    assert result.exit_code == 1
    assert "no input file to label" in result.output and "1 other files skipped" in result.output
    assert not out.exists() and not parts_dir(out).exists()


def test_unwritable_output_is_one_line_naming_the_path(trained_models, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in TEXTS[:3]])
    (tmp_path / "blocker").write_text("a file, not a folder")
    out = tmp_path / "blocker" / "o.jsonl"
    result = CliRunner().invoke(
        app, ["label", str(src), "--out", str(out), "--model", "baseline", "--no-progress"]
    )
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "blocker" in result.output and "Traceback" not in result.output


def test_full_disk_is_one_line_and_resume_completes_the_run(trained_models, tmp_path):
    """A real full filesystem: a 1 MiB tmpfs (skipped where mounting is not permitted)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        texts = [f"{TEXTS[i % len(TEXTS)]} {'x' * 400} {i}" for i in range(3000)]
        src = write_jsonl(
            tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(texts)]
        )
        args = ["label", str(src), "--out", str(mnt / "o.jsonl"), "--model", "baseline"]
        full = CliRunner().invoke(app, [*args, "--no-progress", "--chunk-size", "200"])
        assert full.exit_code == 1 and "No space left on device" in full.output
        assert len(full.output.strip().splitlines()) == 1, full.output
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        done = CliRunner().invoke(app, [*args, "--no-progress", "--resume"])
        assert done.exit_code == 0, done.output
        assert [r["id"] for r in rows(mnt / "o.jsonl")] == [str(i) for i in range(3000)]
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_a_row_whose_prediction_raises_is_isolated(trained_models, tmp_path):
    from training.batch.engine import Labeller, label_window
    from training.batch.readers import Item

    predictor = load_predictor("baseline")

    def predict(texts, ids, contexts=None):
        if any("poison" in t for t in texts):
            raise ValueError("cannot score this row")
        return predictor.predict(texts, ids, contexts)

    window = [
        (i, Item("f", i + 1, None, text=t, id=str(i)))
        for i, t in enumerate(["Labour won Putney.", "poison pill", "The unit held the line."])
    ]
    records = label_window(Labeller(predict, predictor.registry), window, batch_size=8)
    assert [(pos, kind) for pos, kind, _ in records] == [(0, "ok"), (1, "error"), (2, "ok")]
    assert records[1][2]["error"] == "predict_failed" and "cannot score" in records[1][2]["reason"]


_jsonl_line = st.one_of(
    st.builds(lambda t: json.dumps({"text": t}), st.text(min_size=1, max_size=40)),
    st.builds(lambda t: json.dumps({"text": t}), st.sampled_from(TEXTS)),
    st.just('{"text": 42}'),
    st.just('{"id": "x"}'),
    st.just('{"text": ""}'),
    st.just("{not json"),
    st.just("[1, 2]"),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_jsonl_line, min_size=1, max_size=12))
def test_every_input_line_is_labelled_or_an_error_never_both(trained_models, tmp_path, lines):
    folder = tmp_path / str(abs(hash(tuple(lines))))
    folder.mkdir()
    src = folder / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run([src], folder / "o.jsonl")
    done = [r["line"] for r in rows(folder / "o.jsonl")]
    bad = [r["line"] for r in rows(errors_path(folder / "o.jsonl"))]
    assert sorted(done + bad) == list(range(1, len(lines) + 1))


def test_rows_of_one_document_resolve_people_named_in_earlier_rows(trained_models, tmp_path):
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a1", "doc_id": "a", "text": "Sarah Okafor ran the count in Bolsover."},
            {"id": "b1", "doc_id": "b", "text": "Ms Okafor was not there."},
            {"id": "a2", "doc_id": "a", "text": "Ms Okafor said head office never called."},
            {"id": "x", "text": "Ms Okafor again."},
        ],
    )
    out = {
        r["id"]: [f["name"] for f in r["figures"]]
        for r in rows(run([src], tmp_path / "o.jsonl").out)
    }
    assert out == {
        "a1": ["Sarah Okafor"],
        "b1": ["Okafor"],
        "a2": ["Sarah Okafor"],
        "x": ["Okafor"],
    }


def test_a_text_file_is_one_document(trained_models, tmp_path):
    src = tmp_path / "article.txt"
    src.write_text("Sarah Okafor ran the count.\n\nMs Okafor said so.\n", encoding="utf-8")
    names = [[f["name"] for f in r["figures"]] for r in rows(run([src], tmp_path / "o.jsonl").out)]
    assert names == [["Sarah Okafor"], ["Sarah Okafor"]]
