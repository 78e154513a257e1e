"""Label Studio ML backend protocol on the service, mounted at ``/labelstudio``.

Add ``http://HOST:3000/labelstudio`` as a model in a Label Studio project whose labelling config
is the one ``stanceframe data export-labelstudio`` writes (:func:`serving.labelstudio
.labelstudio_config`). Routes, as Label Studio's ML backend SDK defines them:

* ``GET /health`` (and ``GET /``): ``{"status": "UP", "model_version"}``;
* ``POST /setup`` ``{"project", "schema"}``: checks the labelling config has our controls, answers
  ``{"model_version"}``;
* ``POST /predict`` ``{"tasks": [{"id", "data": {"text"}}], ...}``: ``{"results": [one prediction
  per task], "model_version"}``; frames as choices, each figure as a sentiment span with its
  canonical name, scores and the model version (a prediction's ``score`` is its least confident
  decision, so sorting by it shows doubtful tasks first);
* ``POST /webhook`` ``{"action", "project", "task", "annotation"}``: ``ANNOTATION_CREATED`` /
  ``ANNOTATION_UPDATED`` store the annotation and retrain the baseline in the background
  (:mod:`serving.retrain`; runs are coalesced), ``START_TRAINING`` retrains; other actions are
  acknowledged and ignored. ``POST /train`` is ``START_TRAINING``;
* ``GET /is_training``: the retrainer's state and its last runs.

Bad payloads get 400 with ``{"error": message}``, like every other route.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from serving.api_types import MAX_PARAGRAPHS, MAX_TEXT_CHARS
from serving.labelstudio import FRAMES_TAG, SENTIMENT_TAG, TEXT_TAG, ls_prediction

MAX_TASKS = 16 * MAX_PARAGRAPHS
TRAIN_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "START_TRAINING"}


class BadPayload(ValueError):
    """A request Label Studio (or anyone) sent that the protocol does not allow."""


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise BadPayload(f"invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise BadPayload(f"body must be a JSON object, got {type(body).__name__}")
    return body


def task_texts(tasks: Any) -> list[str]:
    """The paragraph text of each task, or ``BadPayload`` naming the first bad task."""
    if not isinstance(tasks, list) or not tasks:
        raise BadPayload("'tasks' must be a non-empty list")
    if len(tasks) > MAX_TASKS:
        raise BadPayload(f"{len(tasks)} tasks; at most {MAX_TASKS} per request")
    texts = []
    for i, task in enumerate(tasks):
        data = task.get("data") if isinstance(task, dict) else None
        text = data.get(TEXT_TAG) if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise BadPayload(f"tasks[{i}].data.{TEXT_TAG} must be a non-blank string")
        if len(text) > MAX_TEXT_CHARS:
            raise BadPayload(
                f"tasks[{i}].data.{TEXT_TAG} has {len(text)} characters; at most {MAX_TEXT_CHARS}"
            )
        texts.append(text)
    return texts


def check_config(config: Any) -> None:
    """A labelling config must hold our frames choices and sentiment labels on ``$text``."""
    if config in (None, ""):
        return
    if not isinstance(config, str):
        raise BadPayload("'schema' / 'label_config' must be the labelling config XML string")
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise BadPayload(f"labelling config is not valid XML: {exc}") from exc
    names = {el.get("name") for el in root.iter()}
    missing = [n for n in (TEXT_TAG, FRAMES_TAG, SENTIMENT_TAG) if n not in names]
    if missing:
        raise BadPayload(
            f"labelling config lacks {missing}; use the config that "
            "`stanceframe data export-labelstudio` writes"
        )


class Backend:
    """What the routes need from the service (set by :func:`attach`)."""

    def __init__(self, predict: Callable, schema: Callable, version: Callable, retrainer):
        self.predict = predict  # texts -> list[ParagraphResult]
        self.schema = schema  # () -> LabelSchema
        self.version = version  # () -> str
        self.retrainer = retrainer


_backend: Backend | None = None


def attach(backend: Backend) -> None:
    global _backend
    _backend = backend


def ml_backend_app() -> FastAPI:
    """The ASGI app the service mounts at ``/labelstudio``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def ready() -> Backend:
        if _backend is None:
            raise BadPayload("service is starting")
        return _backend

    @app.exception_handler(BadPayload)
    async def bad_payload(_: Request, exc: BadPayload) -> JSONResponse:
        return _error(str(exc))

    @app.get("/")
    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "UP", "model_class": "stanceframe", "model_version": ready().version()}

    @app.post("/setup")
    async def setup(request: Request) -> dict[str, Any]:
        body = await _object(request)
        check_config(body.get("schema"))
        return {"model_version": ready().version()}

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        body = await _object(request)
        check_config(body.get("label_config"))
        texts = task_texts(body.get("tasks"))
        backend = ready()
        results = backend.predict(texts)
        schema = backend.schema()
        predictions = [ls_prediction(r.to_dict(), schema, 0.5) for r in results]
        return {"results": predictions, "model_version": backend.version()}

    @app.post("/webhook", status_code=201)
    async def webhook(request: Request) -> dict[str, Any]:
        body = await _object(request)
        action = body.get("action")
        if not isinstance(action, str):
            raise BadPayload("'action' must be a string (a Label Studio webhook event)")
        if action not in TRAIN_ACTIONS:
            return {"status": "ignored", "action": action}
        retrainer = ready().retrainer
        stored = None
        if action != "START_TRAINING":
            task, annotation = body.get("task"), body.get("annotation")
            if not isinstance(task, dict) or not isinstance(annotation, dict):
                raise BadPayload(f"{action} needs 'task' and 'annotation' objects")
            task_texts([task])
            project = body.get("project")
            project_id = str(project.get("id", "")) if isinstance(project, dict) else str(project)
            stored = retrainer.add(project_id or "default", task, annotation)
        return {"status": retrainer.request(), "action": action, "stored_tasks": stored}

    @app.post("/train", status_code=201)
    async def train(request: Request) -> dict[str, Any]:
        await _object(request)
        return {"status": ready().retrainer.request(), "action": "START_TRAINING"}

    @app.get("/is_training")
    def is_training() -> dict[str, Any]:
        return ready().retrainer.status()

    return app
