"""The Label Studio ML backend routes on the service (in-process), against the generated config."""

import shlex
import sys
from xml.etree import ElementTree as ET

import pytest

from serving.labelstudio import labelstudio_config
from serving.schema import load_schema
from tests.conftest import REPO
from tests.serving.test_service import service_client
from training.data.corpus import FigureLabel, Paragraph
from training.data.labelstudio import export_labelstudio

TEXT = "Jeremy Corbyn's aides were blamed by Ms Smeeth for the defeat."
TASKS = [{"id": 1, "data": {"text": TEXT}}, {"id": 2, "data": {"text": "Labour won Putney."}}]


@pytest.fixture
def client(trained_models, monkeypatch):
    with service_client(monkeypatch) as c:
        yield c


def controls(config: str) -> dict[str, set[str]]:
    """Control name -> the values it allows, from the labelling config XML."""
    root = ET.fromstring(config)
    out = {}
    for el in root.iter():
        if el.get("name") and el.tag in ("Choices", "Labels"):
            out[el.get("name")] = {c.get("value") for c in el}
        elif el.get("name"):
            out[el.get("name")] = set()
    return out


def test_health_and_setup_answer_with_the_model_version(client):
    health = client.get("/labelstudio/health").json()
    assert health["status"] == "UP" and health["model_version"].startswith("stanceframe-")
    config = labelstudio_config(load_schema())
    setup = client.post("/labelstudio/setup", json={"project": "1", "schema": config})
    assert setup.status_code == 200 and setup.json()["model_version"] == health["model_version"]


def test_predictions_are_valid_against_the_generated_config(client):
    config = labelstudio_config(load_schema())
    allowed = controls(config)
    resp = client.post("/labelstudio/predict", json={"tasks": TASKS, "label_config": config})
    assert resp.status_code == 200
    body = resp.json()
    assert len(body["results"]) == len(TASKS)
    for task, prediction in zip(TASKS, body["results"], strict=True):
        assert prediction["model_version"] == body["model_version"]
        assert 0 <= prediction["score"] <= 1
        for r in prediction["result"]:
            assert r["from_name"] in allowed and r["to_name"] in allowed
            value = r["value"]
            if r["type"] in ("choices", "labels"):
                assert set(value[r["type"]]) <= allowed[r["from_name"]]
            if r["type"] == "labels":
                assert task["data"]["text"][value["start"] : value["end"]] == value["text"]
    names = [r["value"]["text"] for r in body["results"][0]["result"] if r["type"] == "textarea"]
    assert "Jeremy Corbyn" in names or ["Jeremy Corbyn"] in names


@pytest.mark.parametrize(
    ("route", "body", "needle"),
    [
        ("/labelstudio/predict", {"tasks": []}, "non-empty list"),
        ("/labelstudio/predict", {"tasks": [{"data": {"txt": "x"}}]}, "tasks[0].data.text"),
        ("/labelstudio/predict", {"tasks": [{"data": {"text": "a" * 10001}}]}, "at most"),
        ("/labelstudio/predict", [1], "JSON object"),
        ("/labelstudio/setup", {"schema": "<View><Text name='text'/></View>"}, "lacks"),
        ("/labelstudio/setup", {"schema": "<View"}, "not valid XML"),
        ("/labelstudio/webhook", {"action": "ANNOTATION_CREATED"}, "needs 'task'"),
        ("/labelstudio/webhook", {"project": 1}, "'action'"),
    ],
)
def test_bad_payloads_get_400_with_a_message(client, route, body, needle):
    resp = client.post(route, json=body)
    assert resp.status_code == 400 and needle in resp.json()["error"]


def test_other_webhook_events_are_acknowledged_and_ignored(client):
    resp = client.post("/labelstudio/webhook", json={"action": "PROJECT_UPDATED", "project": {}})
    assert resp.status_code == 201 and resp.json()["status"] == "ignored"


def _annotated_task(tid: int, text: str, frames: tuple[str, ...]) -> tuple[dict, dict]:
    start = text.index("Corbyn")
    para = Paragraph(
        f"ls{tid}",
        f"ls{tid}",
        "labelstudio",
        text,
        frames,
        (FigureLabel("Jeremy Corbyn", "Corbyn", start, start + 6, "negative"),),
    )
    [task] = export_labelstudio([para], load_schema())
    annotation = task.pop("annotations")[0]
    return {"id": tid, **task}, annotation


@pytest.mark.slow
def test_annotations_retrain_the_baseline_in_the_background_and_swap_it_in(
    trained_models, tiny_corpus, monkeypatch, tmp_path
):
    name = "stanceframe-baseline-ls"
    command = " ".join(
        [
            shlex.quote(sys.executable),
            "-m training.cli train --config training/configs/baseline.yaml",
            f"--set model_name={name}",
            f"--set data.train=[{tiny_corpus['train']}]",
            f"--set data.gold=[{tiny_corpus['gold']}]",
            "--set data.transfer=[] --set data.dev_pool=[] --set baseline.min_df=1",
            f"--set baseline.threshold_folds=3 --set data.labels_dir={REPO / 'labels'}",
        ]
    )
    env = {
        "STANCEFRAME_BASELINE": name,  # absent until the first retraining stores it
        "STANCEFRAME_LABELSTUDIO_DIR": str(tmp_path / "ls"),
        "STANCEFRAME_RETRAIN_COMMAND": command,
    }
    with service_client(monkeypatch, **env) as client:
        assert client.get("/model").json()["baseline"] is None
        statuses = []
        for tid in (1, 2, 3):
            task, annotation = _annotated_task(
                tid, f"Corbyn's office lost seat number {tid}.", ("blame_leadership",)
            )
            body = {
                "action": "ANNOTATION_CREATED",
                "project": {"id": 7},
                "task": task,
                "annotation": annotation,
            }
            resp = client.post("/labelstudio/webhook", json=body)
            assert resp.status_code == 201
            statuses.append(resp.json()["status"])
        # one run starts; webhooks arriving during it are coalesced into one more run
        assert statuses[0] == "started" and set(statuses[1:]) <= {"queued", "started"}
        from serving.labelstudio_backend import _backend

        assert _backend.retrainer.wait(240)
        state = client.get("/labelstudio/is_training").json()
        assert not state["is_training"] and state["runs"][-1]["returncode"] == 0
        assert state["runs"][-1]["annotation_files"] == 1
        stored = (tmp_path / "ls" / "project-7.json").read_text()
        assert all(f"seat number {t}" in stored for t in (1, 2, 3))  # nothing lost
        info = client.get("/model").json()
        assert info["baseline"]["version"].startswith(f"{name}:")  # swapped in, no restart
