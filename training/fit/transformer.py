"""Fine-tuning the shared encoder with the frames and figure-sentiment heads."""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import functools
import random
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from serving.model import StanceFrameModel, build_encoder, encode
from serving.predictors.transformer import TransformerPredictor
from serving.schema import LabelSchema
from serving.thresholds import tune_thresholds
from training.data.corpus import Paragraph
from training.evaluation.metrics import multiclass_metrics, multilabel_metrics
from training.evaluation.scoring import frame_matrix, frames_annotated
from training.fit.config import TrainConfig, TransformerConfig
from training.fit.distill import TeacherTarget, TeacherTargets, mix
from training.fit.info import model_info


@dataclass
class Examples:
    """Model-ready view of a list of paragraphs."""

    texts: list[str]
    spans: list[list[tuple[int, int]]]
    sentiments: list[list[int]]
    frames: np.ndarray  # (n, L)
    has_frames: np.ndarray  # (n,) bool
    teacher: list[TeacherTarget | None] | None = None
    """A teacher's probabilities per paragraph (distillation), or None."""

    @classmethod
    def build(
        cls,
        paragraphs: list[Paragraph],
        schema: LabelSchema,
        teacher: TeacherTargets | None = None,
    ) -> Examples:
        s2i = schema.sentiment2id
        return cls(
            texts=[p.text for p in paragraphs],
            spans=[[(f.start, f.end) for f in p.figures] for p in paragraphs],
            sentiments=[[s2i[f.sentiment] for f in p.figures] for p in paragraphs],
            frames=frame_matrix(paragraphs, schema),
            has_frames=np.array([frames_annotated(p) for p in paragraphs], dtype=bool),
            teacher=[teacher.get(p) for p in paragraphs] if teacher is not None else None,
        )

    def targets(self, idx: list[int], n_sentiments: int, weight: float):
        """Frame targets (B, L) and sentiment targets (M, S) of a batch: gold, or mixed with
        the teacher's probabilities where it has them."""
        frames, sentiments = [], []
        for i in idx:
            soft = self.teacher[i] if self.teacher is not None else None
            frames.append(mix(self.frames[i], soft.frames if soft else None, weight))
            gold = np.eye(n_sentiments)[self.sentiments[i]].reshape(-1, n_sentiments)
            sentiments.append(mix(gold, soft.sentiments if soft else None, weight))
        return np.stack(frames), np.concatenate(sentiments) if sentiments else None

    def __len__(self) -> int:
        return len(self.texts)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def length_batches(ex: Examples, batch_size: int, rng: random.Random | None) -> list[list[int]]:
    """Batches of similar-length paragraphs (less padding); batch order shuffled when training."""
    order = sorted(range(len(ex)), key=lambda i: len(ex.texts[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def make_losses(
    ex: Examples, n_sentiments: int, device: torch.device, max_pos_weight: float = 10.0
):
    """Class-balanced losses: BCE with pos_weight per frame (at most ``max_pos_weight``), CE with
    inverse-frequency weights."""
    annotated = ex.frames[ex.has_frames]
    pos = annotated.sum(0).clip(min=1)
    ratio = ((len(annotated) - pos) / pos).clip(1.0, max_pos_weight)
    pos_weight = torch.tensor(ratio, dtype=torch.float)
    counts = np.bincount([s for row in ex.sentiments for s in row], minlength=n_sentiments)
    weights = counts.sum() / (n_sentiments * counts.clip(min=1))
    return (
        nn.BCEWithLogitsLoss(pos_weight=pos_weight.to(device), reduction="none"),
        nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float).to(device)),
    )


def make_optimizer(model: StanceFrameModel, cfg: TransformerConfig, n_steps: int):
    """AdamW with a higher learning rate for the fresh heads; linear warm-up then decay."""
    groups = [
        {"params": model.encoder.parameters(), "lr": cfg.learning_rate},
        {"params": model.heads.parameters(), "lr": cfg.head_learning_rate},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    warmup = max(1, int(cfg.warmup_ratio * n_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (n_steps - step) / max(1, n_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _encode(tokenizer, ex: Examples, idx: list[int], cfg: TransformerConfig, device):
    return encode(
        tokenizer,
        [ex.texts[i] for i in idx],
        [ex.spans[i] for i in idx],
        cfg.max_length,
        cfg.stride,
    ).to(device)


def autocast(cfg: TransformerConfig, device: torch.device):
    """bfloat16 autocast when the config asks for it (a no-op context otherwise)."""
    if cfg.precision not in ("fp32", "bf16"):
        raise ValueError(f"transformer.precision must be 'fp32' or 'bf16', got {cfg.precision!r}")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def soft_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor, gold: list[int]
) -> torch.Tensor:
    """Class-weighted cross-entropy against class probabilities, normalised like
    ``nn.CrossEntropyLoss(weight)`` on the gold classes (so one-hot targets give the same loss)."""
    per_mention = -(targets * torch.log_softmax(logits, -1) * weight).sum(-1)
    return per_mention.sum() / weight[torch.tensor(gold, device=logits.device)].sum()


def train_step(model, tokenizer, ex, idx, cfg, losses, optimizer, scheduler, device) -> float:
    model.train()
    batch = _encode(tokenizer, ex, idx, cfg, device)
    with autocast(cfg, device):
        frame_logits, sent_logits = model(batch)
    frame_logits, sent_logits = frame_logits.float(), sent_logits.float()
    bce, ce = losses
    mask = torch.tensor(ex.has_frames[idx], dtype=torch.float, device=device)
    gold = [s for i in idx for s in ex.sentiments[i]]
    if ex.teacher is None:
        targets = torch.tensor(ex.frames[idx], dtype=torch.float, device=device)
        sentiment = ce(sent_logits, torch.tensor(gold, device=device)) if gold else None
    else:
        frame_targets, sent_targets = ex.targets(idx, sent_logits.shape[-1], cfg.distill_weight)
        targets = torch.tensor(frame_targets, dtype=torch.float, device=device)
        sentiment = None
        if gold:
            soft = torch.tensor(sent_targets, dtype=torch.float, device=device)
            sentiment = soft_cross_entropy(sent_logits, soft, ce.weight, gold)
    loss = (bce(frame_logits, targets).mean(1) * mask).sum() / mask.sum().clamp(min=1)
    if sentiment is not None:
        loss = loss + cfg.sentiment_loss_weight * sentiment
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    scheduler.step()
    return float(loss.detach())


@torch.inference_mode()
def predict_examples(model, tokenizer, ex, cfg, device) -> tuple[np.ndarray, list[int]]:
    """Frame probabilities and predicted sentiment ids for the annotated mentions."""
    model.eval()
    probs = np.zeros(ex.frames.shape)
    sent_pred: dict[int, list[int]] = {}
    for idx in length_batches(ex, cfg.eval_batch_size, None):
        with autocast(cfg, device):
            frame_logits, sent_logits = model(_encode(tokenizer, ex, idx, cfg, device))
        probs[idx] = torch.sigmoid(frame_logits.float()).cpu().numpy()
        pred = sent_logits.argmax(-1).cpu().tolist()
        k = 0
        for i in idx:
            sent_pred[i] = pred[k : k + len(ex.spans[i])]
            k += len(ex.spans[i])
    return probs, [s for i in range(len(ex)) for s in sent_pred[i]]


def dev_score(model, tokenizer, dev: Examples, schema, cfg, device) -> tuple[float, np.ndarray]:
    """Selection score (mean of frames and sentiment macro-F1) and dev-tuned thresholds."""
    probs, sent_pred = predict_examples(model, tokenizer, dev, cfg, device)
    thresholds = tune_thresholds(dev.frames, probs)
    frames = multilabel_metrics(dev.frames, probs >= thresholds, schema.frame_names)
    gold = [schema.sentiments[s] for row in dev.sentiments for s in row]
    sent = multiclass_metrics(gold, [schema.sentiments[s] for s in sent_pred], schema.sentiments)
    parts = [v for v in (frames["macro_f1"], sent["macro_f1"]) if v is not None]
    return (float(np.mean(parts)) if parts else 0.0), thresholds


def keep_first_layers(encoder: torch.nn.Module, n: int | None) -> torch.nn.Module:
    """The encoder with only its first ``n`` transformer layers (all of them for None); its
    config says so, so the saved model reloads with ``n`` layers everywhere."""
    if n is None:
        return encoder
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ValueError(
            f"transformer.encoder_layers: {type(encoder).__name__} has no encoder.layer list"
        )
    if not 1 <= n <= len(layers):
        raise ValueError(f"transformer.encoder_layers must be 1 to {len(layers)}, got {n}")
    encoder.encoder.layer = layers[:n]
    encoder.config.num_hidden_layers = n
    return encoder


TRIM_EVERY = 25
"""Training steps between two :func:`release_free_memory` calls."""


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``); False elsewhere.

    Training allocates activations of a different size at every step, and glibc keeps the freed
    pages, so the resident size creeps up over an epoch; trimming every few steps keeps the peak
    lower at no measurable cost in speed (README, "Training time and memory")."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)  # its result says whether anything was released, not success
    return True


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, looked up once (``find_library`` runs ``ldconfig``); None
    where the C library has none."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # no C library by that name, or not glibc
        return None


def fit_transformer(
    config: TrainConfig, data, train_set: list[Paragraph], dev_set: list[Paragraph]
) -> TransformerPredictor:
    """Fine-tune with early stopping on the grouped dev split; thresholds tuned on dev."""
    cfg, schema = config.transformer, data.schema
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if not 0.0 <= cfg.distill_weight <= 1.0:
        raise ValueError(f"transformer.distill_weight must be in [0, 1], got {cfg.distill_weight}")
    # read before the encoder loads, so a bad targets file fails in seconds, not minutes
    teacher = TeacherTargets(path, schema) if (path := config.data.teacher_targets) else None
    device = pick_device(cfg.device)
    encoder, tokenizer = build_encoder(cfg.base_model, cfg.random_init)
    encoder = keep_first_layers(encoder, cfg.encoder_layers)
    model = StanceFrameModel(encoder, len(schema.frames), len(schema.sentiments), cfg.dropout)
    model.to(device)
    train_ex = Examples.build([*train_set, *data.extra_sentiment], schema, teacher)
    if teacher is not None:
        used = sum(t is not None for t in train_ex.teacher)
        tqdm.write(f"distilling from {teacher.teacher}: targets for {used}/{len(train_ex)}")
    dev_ex = Examples.build(dev_set, schema) if dev_set else None
    rng = random.Random(config.seed)
    n_steps = cfg.epochs * len(length_batches(train_ex, cfg.batch_size, None))
    optimizer, scheduler = make_optimizer(model, cfg, n_steps)
    losses = make_losses(train_ex, len(schema.sentiments), device, cfg.max_pos_weight)
    best = (-1.0, copy.deepcopy(model.state_dict()), np.full(len(schema.frames), 0.5))
    deadline = time.monotonic() + 60 * cfg.max_train_minutes if cfg.max_train_minutes else None
    stale = 0
    history = []
    for epoch in range(cfg.epochs):
        bar = tqdm(
            length_batches(train_ex, cfg.batch_size, rng), desc=f"epoch {epoch + 1}", leave=False
        )
        for step, idx in enumerate(bar, 1):
            loss = train_step(
                model, tokenizer, train_ex, idx, cfg, losses, optimizer, scheduler, device
            )
            if step % TRIM_EVERY == 0:
                release_free_memory()
            bar.set_postfix(loss=f"{loss:.3f}")
            if deadline and time.monotonic() > deadline:
                break
        if dev_ex is None:
            best = (0.0, copy.deepcopy(model.state_dict()), best[2])
        else:
            score, thresholds = dev_score(model, tokenizer, dev_ex, schema, cfg, device)
            history.append({"epoch": epoch + 1, "dev_score": round(score, 4)})
            tqdm.write(f"epoch {epoch + 1}: dev score {score:.4f}")
            if score > best[0]:
                best, stale = (score, copy.deepcopy(model.state_dict()), thresholds), 0
            else:
                stale += 1
        if stale >= cfg.patience or (deadline and time.monotonic() > deadline):
            break
    model.load_state_dict(best[1])
    info = model_info(config, data, train_set, best[2].tolist(), history)
    if teacher is not None:
        info = info.replace(
            teacher={
                "model": teacher.teacher,
                "targets": str(teacher.path),
                "weight": cfg.distill_weight,
                "paragraphs_with_targets": used,
            }
        )
    return TransformerPredictor(info, model, tokenizer, batch_size=cfg.eval_batch_size)
