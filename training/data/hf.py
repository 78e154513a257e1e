"""The annotated corpus as a typed Hugging Face ``datasets.DatasetDict`` with a dataset card.

Splits: ``train`` and ``validation`` (the training corpus split by story, the same rule and seed
as training's dev split, so no story is in both), ``gold`` (real text) and ``transfer`` (the
held-out real-register set) when present. Frames are a sequence of ``ClassLabel`` and figure
sentiment a ``ClassLabel``, both named from ``labels/schema.yaml``, so a user of ``datasets`` sees
the label set without reading this project. :func:`load_hf_split` reads a split back into
:class:`~training.data.corpus.Paragraph` objects; a training config may list such a folder in
``data.train`` (its ``train`` split is used).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from serving.schema import LabelSchema
from training.data.corpus import FigureLabel, Paragraph

CARD = """---
license: mit
language: [en]
task_categories: [text-classification, token-classification]
pretty_name: stanceframe annotated corpus
---
# stanceframe annotated corpus

Paragraphs of political news and commentary annotated with frames (multi-label: {frames}) and the
sentiment ({sentiments}) expressed toward each named person, schema version {version}.

| split | paragraphs | stories |
| --- | --- | --- |
{rows}

- `train` / `validation`: original written paragraphs (see `labels/README.md` of the project for
  how they were written), split by story (`story_id`), never a story on both sides.
- `gold`: real paragraphs of the seed documents; `transfer`: a held-out set written in the
  registers of real reporting by writers who never saw the training text. Never train on these.
- Quotes attributed to real politicians in written paragraphs are invented for training purposes.

Fields: `id`, `story_id`, `source`, `genre`, `text`, `frames` (sequence of class labels),
`figures` (sequence of `name`, `mention`, `start`/`end` character offsets into `text`,
`sentiment`).
Written by `stanceframe data export-hf`.
"""


def features(schema: LabelSchema):
    """The typed features: class-label names come from the schema."""
    from datasets import ClassLabel, Features, List, Value

    return Features(
        {
            "id": Value("string"),
            "story_id": Value("string"),
            "source": Value("string"),
            "genre": Value("string"),
            "text": Value("string"),
            "frames": List(ClassLabel(names=list(schema.frame_names))),
            "figures": List(
                {
                    "name": Value("string"),
                    "mention": Value("string"),
                    "start": Value("int32"),
                    "end": Value("int32"),
                    "sentiment": ClassLabel(names=list(schema.sentiments)),
                }
            ),
        }
    )


def _row(p: Paragraph) -> dict[str, Any]:
    return {
        "id": p.id,
        "story_id": p.story_id,
        "source": p.source,
        "genre": str(p.meta.get("genre", "")),
        "text": p.text,
        "frames": list(p.frames),
        "figures": [f.__dict__ for f in p.figures],
    }


def to_dataset_dict(splits: Mapping[str, Sequence[Paragraph]], schema: LabelSchema):
    """A ``DatasetDict`` with one typed split per non-empty entry of ``splits``."""
    from datasets import Dataset, DatasetDict

    feats = features(schema)
    return DatasetDict(
        {
            name: Dataset.from_list([_row(p) for p in paragraphs], features=feats)
            for name, paragraphs in splits.items()
            if paragraphs
        }
    )


def export_hf(
    splits: Mapping[str, Sequence[Paragraph]], schema: LabelSchema, out: str | Path
) -> dict[str, int]:
    """Write the splits with ``save_to_disk`` plus a dataset card (``README.md``); return sizes."""
    out = Path(out)
    dataset = to_dataset_dict(splits, schema)
    dataset.save_to_disk(str(out))
    rows = "\n".join(
        f"| {name} | {len(ds)} | {len(set(ds['story_id']))} |" for name, ds in dataset.items()
    )
    (out / "README.md").write_text(
        CARD.format(
            frames=", ".join(schema.frame_names),
            sentiments=", ".join(schema.sentiments),
            version=schema.version,
            rows=rows,
        ),
        encoding="utf-8",
    )
    return {name: len(ds) for name, ds in dataset.items()}


def is_hf_dataset(path: str | Path) -> bool:
    """True for a folder written by :func:`export_hf` (or any ``save_to_disk`` DatasetDict)."""
    return (Path(path) / "dataset_dict.json").is_file()


def load_hf_split(path: str | Path, split: str = "train") -> list[Paragraph]:
    """Paragraphs of one split of a saved DatasetDict, label ids mapped back to schema names."""
    from datasets import load_from_disk

    dataset = load_from_disk(str(path))
    if split not in dataset:
        known = json.loads((Path(path) / "dataset_dict.json").read_text())["splits"]
        raise ValueError(f"{path}: no split {split!r}; splits are {known}")
    ds = dataset[split]
    frame_names = ds.features["frames"].feature.names
    sentiment_names = ds.features["figures"].feature["sentiment"].names
    out = []
    for row in ds:
        figures = tuple(
            FigureLabel(
                f["name"], f["mention"], f["start"], f["end"], sentiment_names[f["sentiment"]]
            )
            for f in row["figures"]
        )
        out.append(
            Paragraph(
                row["id"],
                row["story_id"],
                row["source"],
                row["text"],
                tuple(frame_names[i] for i in row["frames"]),
                figures,
                {"genre": row["genre"]} if row["genre"] else {},
            )
        )
    return out
