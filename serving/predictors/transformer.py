"""The transformer predictor (PyTorch), fp32 or bf16 autocast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from serving.model_info import ModelInfo
from serving.predictors.base import HEADS_FILE, Predictor


class TransformerPredictor(Predictor):
    """Encoder + heads in PyTorch, batched by length."""

    kind = "transformer"

    def __init__(self, info: ModelInfo, model: Any, tokenizer: Any, batch_size: int = 64):
        super().__init__(info)
        import torch

        self.torch = torch
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = int(info.setting("transformer", "max_length"))
        self.stride = int(info.setting("transformer", "stride"))
        self.batch_size = batch_size
        self.device = next(model.parameters()).device
        self.bf16 = False
        """Run the encoder under bfloat16 autocast (``torch-bf16`` backend): fast on CPUs with
        AVX-512 BF16 or AMX, slow where bf16 is emulated."""

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backend": "torch-bf16" if self.bf16 else "torch"}

    @classmethod
    def load(cls, folder: Path, info: ModelInfo, device: str = "auto") -> TransformerPredictor:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from serving.model import StanceFrameModel

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        hf_logging.set_verbosity_error()  # the unused pooler's "missing weights" report is noise
        tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
        encoder = AutoModel.from_pretrained(folder / "encoder")
        model = StanceFrameModel(encoder, len(info.schema.frames), len(info.schema.sentiments))
        model.heads.load_state_dict(load_file(folder / HEADS_FILE, device="cpu"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        return cls(info, model.to(device), tokenizer)

    def save_artifacts(self, folder: Path) -> None:
        self.model.encoder.save_pretrained(folder / "encoder")
        self.tokenizer.save_pretrained(folder / "tokenizer")
        from safetensors.torch import save_file

        state = {k: v.detach().cpu().contiguous() for k, v in self.model.heads.state_dict().items()}
        save_file(state, folder / HEADS_FILE)

    def score(self, texts, mentions):
        from serving.model import encode, length_order

        torch = self.torch
        n = len(texts)
        frame_probs = np.zeros((n, len(self.schema.frames)))
        sent_probs: list[np.ndarray] = [np.zeros((0, len(self.schema.sentiments)))] * n
        # One batch (a service request) needs no order: skip counting its tokens.
        order = length_order(self.tokenizer, texts) if n > self.batch_size else list(range(n))
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)
        with torch.inference_mode(), autocast:
            for s in range(0, n, self.batch_size):
                idx = order[s : s + self.batch_size]
                spans = [[(m.start, m.end) for m in mentions[i]] for i in idx]
                batch = encode(
                    self.tokenizer, [texts[i] for i in idx], spans, self.max_length, self.stride
                ).to(self.device)
                fl, sl = self.model(batch)
                fp = torch.sigmoid(fl).float().cpu().numpy()
                sp = torch.softmax(sl, -1).float().cpu().numpy()
                k = 0
                for j, i in enumerate(idx):
                    frame_probs[i] = fp[j]
                    sent_probs[i] = sp[k : k + len(spans[j])]
                    k += len(spans[j])
        return frame_probs, sent_probs
