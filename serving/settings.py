"""The service's settings: one object read from the environment (``STANCEFRAME_*``).

:meth:`ServiceSettings.from_env` is called in ``StanceFrame.__init__``. ``workers`` is also read
when ``serving.service`` is imported, because BentoML fixes it when the service class is defined
(``@bentoml.service``): set it before ``bentoml serve`` starts. Defaults are the shipped values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ServiceSettings:
    """Every service setting, its environment variable being ``STANCEFRAME_`` + the upper name."""

    transformer: str = "transformer"
    """Model name or tag in the store."""
    baseline: str = "baseline"
    timeout_s: float = 5.0
    """The caller's deadline: a request the transformer has not answered this many seconds after
    it arrived (queue included) is answered by the baseline; 0 turns it off."""
    backend: str = "onnx"
    """``onnx`` (fp32 onnxruntime; plain torch when onnxruntime is missing; the fastest for the
    service in ``benchmarks/service_load.py`` on the dev machine), ``auto`` (the fastest of torch
    fp32, torch-bf16 and onnx in a start-up probe of batch throughput, cached:
    :mod:`serving.predictors.probe`), ``torch``, ``torch-bf16`` or ``onnx-int8``."""
    infer_batch_size: int = 8
    """Paragraphs per forward pass inside a merged (length-sorted) batch."""
    workers: int = 1
    threads: int = 0
    """torch and onnxruntime threads per worker; 0 means cores / workers."""
    batching: bool = True
    """Merge concurrent requests into one transformer call (see :mod:`serving.batcher`)."""
    max_batch_size: int = 64
    """Paragraphs per merged transformer call."""
    labelstudio_dir: str = ""
    """Where Label Studio annotations from the webhook are kept; empty means
    ``$BENTOML_HOME/stanceframe-labelstudio``."""
    retrain_command: str = ""
    """The command the webhook runs to retrain the baseline (``--extra FILE`` is appended per
    project); empty means :data:`serving.retrain.DEFAULT_COMMAND` (``stanceframe train`` with
    ``training/configs/baseline.yaml``)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read ``STANCEFRAME_<NAME>`` for each field; a malformed value names its variable."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            key = f"STANCEFRAME_{f.name.upper()}"
            if key not in env:
                continue
            raw = env[key]
            kind = type(f.default)
            try:
                values[f.name] = (
                    raw.strip() not in ("0", "false", "no", "") if kind is bool else kind(raw)
                )
            except ValueError as exc:
                raise ValueError(f"{key}={raw!r}: expected {kind.__name__}") from exc
        return cls(**values)

    @property
    def cpu_threads(self) -> int:
        return self.threads or max(1, (os.cpu_count() or 1) // self.workers)
