"""Distillation: a stronger teacher's probabilities as soft targets for the served encoder.

A teacher (any stored transformer, such as the base-size study variant) scores the training
paragraphs once, with ``stanceframe data teacher-targets``; its frame probabilities and each
annotated figure's sentiment probabilities go into a JSON file. Training reads that file through
``data.teacher_targets`` and learns, per target, ``(1 - w) * gold + w * teacher`` with ``w =
transformer.distill_weight``. Keeping the teacher's outputs as a file keeps ``make up`` inside its
time budget: the slow teacher runs once, not at every training.

Each target carries a hash of the text it was computed on; a paragraph edited since is trained on
its gold labels only. A name-swapped copy inherits the targets of the paragraph it was made from
(a swap keeps the frames and each figure's sentiment, in the same figure order).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serving.predictors.base import Predictor
from serving.schema import LabelSchema
from training.data.augment import SWAP_SUFFIX
from training.data.corpus import Paragraph


@dataclass(frozen=True)
class TeacherTarget:
    """A teacher's probabilities for one paragraph."""

    frames: np.ndarray
    """(n_frames,) frame probabilities, in schema order."""
    sentiments: np.ndarray
    """(n_figures, n_sentiments): one row per annotated figure, in corpus order."""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def teacher_targets(
    predictor: Predictor, paragraphs: Sequence[Paragraph], chunk: int = 256
) -> dict[str, Any]:
    """Score ``paragraphs`` with ``predictor`` at their annotated figure spans (JSON-ready)."""
    from tqdm.auto import tqdm

    frame_probs: list[np.ndarray] = []
    sent_probs: list[np.ndarray] = []
    with tqdm(total=len(paragraphs), desc="teacher", unit="para") as bar:
        for s in range(0, len(paragraphs), chunk):
            part = paragraphs[s : s + chunk]
            fp, sp = predictor.score([p.text for p in part], [list(p.figures) for p in part])
            frame_probs.extend(fp)
            sent_probs.extend(sp)
            bar.update(len(part))
    schema = predictor.schema
    return {
        "teacher": predictor.version,
        "frames": list(schema.frame_names),
        "sentiments": list(schema.sentiments),
        "targets": {
            p.id: {
                "text_sha256": text_hash(p.text),
                "frames": [round(float(x), 4) for x in fp],
                "figures": [[round(float(x), 4) for x in row] for row in sp],
            }
            for p, fp, sp in zip(paragraphs, frame_probs, sent_probs, strict=True)
        },
    }


def write_targets(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=0, sort_keys=True) + "\n", encoding="utf-8")


class TeacherTargets:
    """Targets read from a file, looked up per training paragraph."""

    def __init__(self, path: str | Path, schema: LabelSchema):
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"teacher targets not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("targets"), dict):
            raise ValueError(
                f"{path}: no 'targets' mapping; write it with `stanceframe data teacher-targets`"
            )
        for key, ours in (("frames", schema.frame_names), ("sentiments", schema.sentiments)):
            if list(raw.get(key, [])) != list(ours):
                raise ValueError(
                    f"{path}: teacher {key} {raw.get(key)} differ from the schema's {list(ours)}; "
                    "recompute them with `stanceframe data teacher-targets`"
                )
        self.path, self.teacher = path, raw.get("teacher")
        self._n_sentiments = len(schema.sentiments)
        self._rows: dict[str, dict[str, Any]] = raw["targets"]

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, paragraph: Paragraph) -> TeacherTarget | None:
        """The paragraph's target, its source's for a name-swapped copy; None if absent or stale."""
        swapped = paragraph.id.endswith(SWAP_SUFFIX)
        row = self._rows.get(paragraph.id[: -len(SWAP_SUFFIX)] if swapped else paragraph.id)
        if row is None or len(row["figures"]) != len(paragraph.figures):
            return None
        if not swapped and row["text_sha256"] != text_hash(paragraph.text):
            return None
        sentiments = np.asarray(row["figures"], dtype=float).reshape(-1, self._n_sentiments)
        return TeacherTarget(np.asarray(row["frames"], dtype=float), sentiments)


def mix(gold: np.ndarray, soft: np.ndarray | None, weight: float) -> np.ndarray:
    """``(1 - weight) * gold + weight * soft``; ``gold`` unchanged where there is no target."""
    if soft is None:
        return np.asarray(gold, dtype=float)
    return (1.0 - weight) * np.asarray(gold, dtype=float) + weight * np.asarray(soft, dtype=float)
