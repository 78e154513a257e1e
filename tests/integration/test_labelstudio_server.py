"""A real Label Studio server with stanceframe connected as its ML backend (no mocks).

Label Studio runs from its own virtual environment (``make labelstudio-env`` makes
``.venv-labelstudio``; ``.ci/run`` does), because its pins (Django and friends) are not ours to
share. The test talks to it over HTTP on localhost, with SQLite in a temporary folder, and checks
the whole loop: a project with the generated config, tasks imported, stanceframe connected as the
ML backend, predictions retrieved and valid against the config, annotations submitted, the export
imported back by ``stanceframe data import-labelstudio``. Skipped, saying so, when that
environment is absent.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from typer.testing import CliRunner

from serving.labelstudio import labelstudio_config
from serving.schema import load_schema
from tests.conftest import REPO, free_port, stop_process
from tests.serving.test_service import real_server
from training.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.labelstudio]

LS_BIN = Path(
    os.environ.get("STANCEFRAME_LABEL_STUDIO", REPO / ".venv-labelstudio/bin/label-studio")
)
TOKEN = "stanceframe0test0token0000000000000000000"
TEXTS = [
    "Defeated candidates blamed Jeremy Corbyn's office for sending activists to the wrong seats.",
    "Labour won Putney, its only gain of the night.",
    "Keir Starmer said the party had listened to the towns it lost.",
]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    if not LS_BIN.exists():
        pytest.skip(f"no Label Studio at {LS_BIN}: run `make labelstudio-env`")
    data = tmp_path_factory.mktemp("label-studio")
    port = free_port()
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "DJANGO_DB": "sqlite",
        # stanceframe runs on localhost, which Label Studio refuses by default (SSRF protection)
        # both as an ML backend and as the target of the ML backend's training webhook
        "ML_BLOCK_LOCAL_IP": "false",
        "SSRF_PROTECTION_ENABLED": "false",
    }
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(LS_BIN),
            "start",
            "--no-browser",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--username",
            "test@example.com",
            "--password",
            "stanceframe-test-1",
            "--user-token",
            TOKEN,
            "--enable-legacy-api-token",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"Label Studio exited: {(data / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail("Label Studio did not answer /health within 240 s")
        client = httpx.Client(
            base_url=url, headers={"Authorization": f"Token {TOKEN}"}, timeout=120
        )
        yield client
    finally:
        stop_process(proc)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


def _ok(resp: httpx.Response) -> dict | list:
    assert resp.status_code < 300, f"{resp.request.method} {resp.request.url}: {resp.text[:2000]}"
    return resp.json()


def test_label_studio_gets_valid_predictions_and_the_annotations_come_back(
    label_studio, trained_models, tiny_corpus, tmp_path
):
    config = labelstudio_config(load_schema())
    allowed = {el.get("name") for el in ET.fromstring(config).iter() if el.get("name")}
    # Label Studio's ML webhook retrains on each annotation: into another model name, on the tiny
    # corpus, so the store's baseline that other tests pin is left alone.
    retrain = " ".join(
        [
            shlex.quote(sys.executable),
            "-m training.cli train --config training/configs/baseline.yaml",
            "--set model_name=stanceframe-baseline-it",
            f"--set data.train=[{tiny_corpus['train']}] --set data.gold=[]",
            "--set data.transfer=[] --set data.dev_pool=[] --set baseline.min_df=1",
            f"--set baseline.threshold_folds=3 --set data.labels_dir={REPO / 'labels'}",
        ]
    )
    env = {
        "STANCEFRAME_RETRAIN_COMMAND": retrain,
        "STANCEFRAME_LABELSTUDIO_DIR": str(tmp_path / "ls-annotations"),
    }
    with real_server(**env) as service:
        project = _ok(
            label_studio.post(
                "/api/projects", json={"title": "stanceframe", "label_config": config}
            )
        )
        pid = project["id"]
        _ok(label_studio.post(f"/api/projects/{pid}/import", json=[{"text": t} for t in TEXTS]))
        ml = _ok(
            label_studio.post(
                "/api/ml",
                json={"project": pid, "url": f"{service}/labelstudio", "title": "stanceframe"},
            )
        )
        assert ml["id"]
        _ok(
            label_studio.post(
                "/api/dm/actions",
                params={"id": "retrieve_tasks_predictions", "project": pid},
                json={"selectedItems": {"all": True, "excluded": []}},
            )
        )
        tasks = _ok(label_studio.get("/api/tasks", params={"project": pid, "fields": "all"}))
        tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
        assert len(tasks) == len(TEXTS)
        for task in tasks:
            predictions = _ok(label_studio.get("/api/predictions", params={"task": task["id"]}))
            assert predictions, f"no prediction for task {task['id']}"
            pred = predictions[0]
            assert str(pred["model_version"]).startswith("stanceframe-")
            for r in pred["result"]:
                assert r["from_name"] in allowed and r["to_name"] in allowed
                if r["type"] == "labels":
                    text = task["data"]["text"]
                    assert text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]
            # the annotator accepts the pre-annotation
            _ok(
                label_studio.post(
                    f"/api/tasks/{task['id']}/annotations",
                    json={"result": pred["result"], "was_cancelled": False},
                )
            )
        export = _ok(label_studio.get(f"/api/projects/{pid}/export", params={"exportType": "JSON"}))
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export), encoding="utf-8")
    out = tmp_path / "back.jsonl"
    result = CliRunner().invoke(
        app, ["data", "import-labelstudio", str(export_file), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    back = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["text"] for r in back) == sorted(TEXTS)
    corbyn = next(r for r in back if "Corbyn" in r["text"])
    assert [f["name"] for f in corbyn["figures"]] == ["Jeremy Corbyn"]
