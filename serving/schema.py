"""The label schema, loaded from ``labels/schema.yaml``: the single source of label names."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LABELS_ENV = "STANCEFRAME_LABELS_DIR"


def labels_dir() -> Path:
    """Directory holding ``schema.yaml`` and ``figures.yaml``.

    ``$STANCEFRAME_LABELS_DIR`` wins; otherwise ``labels/`` in the current directory, then the
    ``labels/`` folder of the source checkout this package was installed from.
    """
    if env := os.environ.get(LABELS_ENV):
        return Path(env)
    cwd = Path.cwd() / "labels"
    if (cwd / "schema.yaml").exists():
        return cwd
    return Path(__file__).resolve().parents[1] / "labels"


@dataclass(frozen=True)
class FrameDef:
    """One frame label: its name and the definition annotators apply."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class LabelSchema:
    """Frame labels and sentiment classes. Id maps derive from the order in the YAML file."""

    version: str
    frames: tuple[FrameDef, ...]
    sentiments: tuple[str, ...]
    name: str = "labels"
    figure_sentiment: str = ""
    _frame_index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.frames]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate frame names in schema: {names}")
        if len(set(self.sentiments)) != len(self.sentiments) or not self.sentiments:
            raise ValueError(
                f"sentiments must be a non-empty list of unique names: {self.sentiments}"
            )
        self._frame_index.update({n: i for i, n in enumerate(names)})

    @property
    def frame_names(self) -> list[str]:
        return [f.name for f in self.frames]

    @property
    def frame2id(self) -> dict[str, int]:
        return dict(self._frame_index)

    @property
    def sentiment2id(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.sentiments)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "frames": [{"name": f.name, "description": f.description} for f in self.frames],
            "sentiments": list(self.sentiments),
            "figure_sentiment": {"description": self.figure_sentiment},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSchema:
        try:
            frames = tuple(
                FrameDef(name=str(f["name"]), description=str(f.get("description", "")).strip())
                for f in data["frames"]
            )
            sentiments = tuple(str(s) for s in data["sentiments"])
            version = str(data["version"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"schema is missing a required field: {exc}") from exc
        fs = data.get("figure_sentiment") or {}
        return cls(
            version=version,
            frames=frames,
            sentiments=sentiments,
            name=str(data.get("name", "labels")),
            figure_sentiment=str(fs.get("description", "")).strip() if isinstance(fs, dict) else "",
        )


def load_schema(path: str | Path | None = None) -> LabelSchema:
    """Load a schema YAML file (default: ``labels_dir()/schema.yaml``)."""
    path = Path(path) if path else labels_dir() / "schema.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"label schema not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    try:
        return LabelSchema.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
