"""The contract between training and serving: what a stored model carries besides its weights.

Training builds a :class:`ModelInfo`, the store writes it as ``stanceframe.json`` beside the
artefacts, and every predictor is constructed from one. Both sides use this one frozen type, so a
field renamed on one side is a type error on the other instead of a ``KeyError`` at load time.
Unknown keys in a stored file (written by a newer stanceframe) are kept in ``extra`` and written
back unchanged; a missing required key is a :class:`ValueError` that names it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from serving.figures import FigureRegistry
from serving.schema import LabelSchema

KINDS = ("transformer", "baseline")
UNSAVED = "unsaved"
"""The tag of a model that has not been written to the store."""


@dataclass(frozen=True)
class ModelInfo:
    """Kind, labels, thresholds and provenance of one trained model."""

    kind: str
    """``transformer`` or ``baseline``: which predictor class reads the artefacts."""
    schema: LabelSchema
    """The label schema the model was trained with (its frames and sentiments, in order)."""
    registry: FigureRegistry
    """The figure registry used to find and name people at prediction time."""
    thresholds: tuple[float, ...]
    """One decision threshold per frame, in ``schema.frame_names`` order."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The training configuration as a plain mapping (``TrainConfig.to_dict()``)."""
    tag: str = UNSAVED
    """``name:version`` in the model store."""
    data_hash: str = ""
    n_train: int = 0
    n_extra_sentiment: int = 0
    library_versions: Mapping[str, str] = field(default_factory=dict)
    trained_at: str = ""
    history: tuple[Mapping[str, Any], ...] = ()
    """Per-epoch dev scores of the transformer loop (empty for the baseline)."""
    dev_metrics: Mapping[str, Any] = field(default_factory=dict)
    gold_metrics: Mapping[str, Any] | None = None
    transfer_metrics: Mapping[str, Any] | None = None
    teacher: Mapping[str, Any] | None = None
    """Distilled models: the teacher's tag, its targets file and how many paragraphs used them."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept so that a round trip loses nothing."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if len(self.thresholds) != len(self.schema.frames):
            raise ValueError(
                f"{len(self.thresholds)} threshold(s) for {len(self.schema.frames)} frame(s)"
            )
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))

    def replace(self, **changes: Any) -> ModelInfo:
        """A copy with ``changes`` applied (the info is frozen)."""
        return dataclasses.replace(self, **changes)

    def setting(self, section: str, key: str) -> Any:
        """One value of the training config, e.g. ``setting("transformer", "max_length")``."""
        try:
            return self.config[section][key]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"model {self.tag} has no config value {section}.{key}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored as ``stanceframe.json``."""
        out: dict[str, Any] = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in ("schema", "registry"):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = [dict(v) if isinstance(v, Mapping) else v for v in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        """Read the stored form; raises ``ValueError`` naming a missing or invalid field."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        missing = [k for k in ("kind", "schema", "registry", "thresholds") if k not in data]
        if missing:
            raise ValueError(f"model info lacks {', '.join(missing)}")
        values = {k: v for k, v in data.items() if k in names}
        values["schema"] = LabelSchema.from_dict(data["schema"])
        values["registry"] = FigureRegistry.from_dict(data["registry"])
        values["thresholds"] = tuple(data["thresholds"])
        values["history"] = tuple(data.get("history") or ())
        values["tag"] = str(data.get("tag") or UNSAVED)
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**values, extra=extra)
