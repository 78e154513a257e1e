"""Shared fixtures: the repo's label schema and registry, tiny inline corpora."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.figures import FigureRegistry, load_registry
from serving.schema import LabelSchema, load_schema

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def schema() -> LabelSchema:
    return load_schema(REPO / "labels" / "schema.yaml")


@pytest.fixture(scope="session")
def registry() -> FigureRegistry:
    return load_registry(REPO / "labels" / "figures.yaml")


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows (dicts are JSON-encoded, strings written verbatim) one per line."""
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def record(i: int, text: str = "Jeremy Corbyn spoke in Leeds.", **kw) -> dict:
    """A valid annotated record; keyword arguments override fields."""
    rec = {
        "id": f"t{i}",
        "story_id": f"s{i // 4}",
        "source": "test",
        "text": text,
        "frames": [],
        "figures": [],
    }
    rec.update(kw)
    return rec
