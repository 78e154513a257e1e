"""Shared fixtures: the repo's label schema and registry, tiny inline corpora."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

# Every test run gets its own model store; bentoml reads BENTOML_HOME when first imported, and
# server subprocesses inherit it. Never the developer's store, whatever the Makefile exported.
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="stanceframe-test-bentoml-")
os.environ["HF_HUB_OFFLINE"] = "1"
# Per-machine caches (the backend probe, ONNX exports of read-only stores) stay out of ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="stanceframe-test-cache-")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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


# A tiny inline corpus: (story, text, frames, [(canonical name, mention, sentiment)]).
TINY = [
    (
        "a",
        "Jeremy Corbyn's aides sent activists to seats Labour could never win.",
        ["blame_leadership"],
        [("Jeremy Corbyn", "Jeremy Corbyn", "negative")],
    ),
    (
        "a",
        "Nobody in head office looked at the data, Ruth Smeeth said.",
        ["blame_leadership"],
        [("Ruth Smeeth", "Ruth Smeeth", "neutral")],
    ),
    ("a", "The count in Stoke finished at four in the morning.", [], []),
    (
        "b",
        "The organising unit held the line where the party would otherwise have collapsed.",
        ["defend_unit"],
        [],
    ),
    (
        "b",
        "Ian Lavery praised the unit's volunteers as the best campaigners he had seen.",
        ["defend_unit"],
        [("Ian Lavery", "Ian Lavery", "positive")],
    ),
    ("b", "The unit was set up in January and employs forty organisers.", [], []),
    (
        "c",
        "Labour has become a party of London dinner parties that sneers at the north.",
        ["london_elite"],
        [],
    ),
    (
        "c",
        "Caroline Flint warned that Islington Remainers had forgotten Leave voters.",
        ["london_elite"],
        [("Caroline Flint", "Caroline Flint", "positive")],
    ),
    ("c", "Labour won Putney, a seat in south-west London.", [], []),
    (
        "d",
        "Keir Starmer is a decent and serious man, his allies say.",
        [],
        [("Keir Starmer", "Keir Starmer", "positive")],
    ),
    (
        "d",
        "Boris Johnson's campaign was blamed on Brexit fatigue, not on anyone in particular.",
        [],
        [("Boris Johnson", "Boris Johnson", "neutral")],
    ),
    (
        "d",
        "Karie Murphy masterminded a disastrous strategy from the leader's office.",
        ["blame_leadership"],
        [("Karie Murphy", "Karie Murphy", "negative")],
    ),
    (
        "e",
        "The digital team's videos reached millions; whatever went wrong, it was not them.",
        ["defend_unit"],
        [],
    ),
    (
        "e",
        "A metropolitan elite in London has abandoned the working-class towns, Lisa Nandy said.",
        ["london_elite"],
        [("Lisa Nandy", "Lisa Nandy", "neutral")],
    ),
    (
        "e",
        "Diane Abbott was mocked for a shambolic interview.",
        [],
        [("Diane Abbott", "Diane Abbott", "negative")],
    ),
    (
        "f",
        "The leadership drove the party to the edge of bankruptcy and the London frontbench "
        "looked down on Leave voters.",
        ["blame_leadership", "london_elite"],
        [],
    ),
    (
        "f",
        "Angela Rayner was praised for a warm and effective speech.",
        [],
        [("Angela Rayner", "Angela Rayner", "positive")],
    ),
    ("f", "Turnout fell by four points in the north-east.", [], []),
]


def tiny_records(prefix: str = "t", lead: str = "") -> list[dict]:
    """The tiny corpus as annotated records (offsets computed, never typed); ``lead`` is put
    before every text so that held-out copies are not identical to training texts."""
    rows = []
    for i, (story, text, frames, figs) in enumerate(TINY):
        text = lead + text
        figures = []
        for name, mention, sentiment in figs:
            start = text.index(mention)
            figures.append(
                {
                    "name": name,
                    "mention": mention,
                    "start": start,
                    "end": start + len(mention),
                    "sentiment": sentiment,
                }
            )
        rows.append(
            {
                "id": f"{prefix}{i}",
                "story_id": f"{prefix}-{story}",
                "source": "test",
                "text": text,
                "frames": frames,
                "figures": figures,
            }
        )
    return rows


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> dict[str, Path]:
    """Training and gold files built from the tiny corpus (gold: different ids and stories)."""
    folder = tmp_path_factory.mktemp("corpus")
    return {
        "train": write_jsonl(
            folder / "train.jsonl", tiny_records("t") + tiny_records("u", lead="Meanwhile, ")
        ),
        "gold": write_jsonl(folder / "gold.jsonl", tiny_records("g", lead="Reports say: ")),
    }


@pytest.fixture(scope="session")
def trained_models(tiny_corpus) -> dict[str, str]:
    """Baseline and tiny transformer trained on the tiny corpus into the test model store."""
    from training.fit.config import load_config
    from training.fit.recipe import train

    tags = {}
    for kind, cfg_name in (("baseline", "baseline"), ("transformer", "tiny")):
        cfg = load_config(
            REPO / "training" / "configs" / f"{cfg_name}.yaml",
            {
                "model_name": f"stanceframe-{kind}",
                "data.train": [str(tiny_corpus["train"])],
                "data.gold": [str(tiny_corpus["gold"])],
                "data.labels_dir": str(REPO / "labels"),
                "data.transfer": [],
                "data.dev_pool": [],
                "baseline.min_df": 1,
                "baseline.threshold_folds": 3,
            },
        )
        tags[kind] = train(cfg).tag
    return tags


def free_port() -> int:
    """A TCP port free on localhost right now (for real servers started by tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout_s: float = 30) -> None:
    """Terminate a server subprocess started by a test; kill it if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
