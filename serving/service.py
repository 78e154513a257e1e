"""BentoML service: the transformer answers, the baseline takes over when it cannot.

Run: ``bentoml serve serving.service:StanceFrame``. Settings (environment, read at start-up):

* ``STANCEFRAME_TRANSFORMER`` / ``STANCEFRAME_BASELINE``: model names or tags in the store;
* ``STANCEFRAME_TIMEOUT_S``: per-batch transformer time limit before the baseline answers (5);
* ``STANCEFRAME_BATCHING``: ``1`` (default) for adaptive batching of ``/classify``, ``0`` off;
* ``STANCEFRAME_MAX_BATCH_SIZE`` (64) and ``STANCEFRAME_MAX_LATENCY_MS`` (3000): batching limits
  (BentoML answers 503 rather than queue a request it expects to exceed the latency limit);
* ``STANCEFRAME_WORKERS`` (1) and ``STANCEFRAME_THREADS`` (cores / workers): torch and onnxruntime
  threads per worker, so workers never oversubscribe the CPU (tokenizer parallelism is off
  for the same reason);
* ``STANCEFRAME_INFER_BATCH_SIZE`` (8): paragraphs per forward pass inside a merged batch;
  the batch is sorted by length first, so small sub-batches waste little on padding;
* ``STANCEFRAME_BACKEND``: ``onnx`` (default: the encoder in onnxruntime fp32, same outputs as
  torch; it served the most requests per second in benchmarks/service_load.py), ``torch``,
  ``torch-bf16``, ``auto`` (see :func:`serving.predictors.factory.resolve_backend`) or ``onnx-int8``
  (fastest, less accurate);
* input limits: see :mod:`serving.api_types`.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import bentoml
from pydantic import Field

from serving.api_types import (
    MAX_ARTICLE_PARAGRAPHS,
    MAX_PARAGRAPHS,
    MAX_TEXT_CHARS,
    ArticleIn,
    ArticleOut,
    ParagraphIn,
    ParagraphOut,
)
from serving.http import RequestGuard, model_info_app, set_info_provider, set_unavailable
from serving.results import ParagraphResult

log = logging.getLogger("stanceframe.service")

BATCHING = os.environ.get("STANCEFRAME_BATCHING", "1") != "0"
WORKERS = int(os.environ.get("STANCEFRAME_WORKERS", "1"))

REQUESTS = bentoml.metrics.Counter(
    name="stanceframe_paragraphs_total",
    documentation="Paragraphs answered, by the model that answered.",
    labelnames=["model"],
)
FALLBACKS = bentoml.metrics.Counter(
    name="stanceframe_fallbacks_total",
    documentation="Paragraphs answered by the baseline instead of the transformer, by reason.",
    labelnames=["reason"],
)

Paragraphs = Annotated[list[ParagraphIn], Field(min_length=1, max_length=MAX_PARAGRAPHS)]


@bentoml.service(
    name="stanceframe",
    workers=WORKERS,
    traffic={"timeout": 60},
)
class StanceFrame:
    """Frames and figure sentiment for paragraphs of political news."""

    def __init__(self) -> None:
        import torch

        from serving.fallback import ModelPair

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        threads = int(
            os.environ.get("STANCEFRAME_THREADS", max(1, (os.cpu_count() or 1) // WORKERS))
        )
        torch.set_num_threads(threads)
        timeout = float(os.environ.get("STANCEFRAME_TIMEOUT_S", "5"))
        self.pair = ModelPair.load(
            os.environ.get("STANCEFRAME_TRANSFORMER", "transformer"),
            os.environ.get("STANCEFRAME_BASELINE", "baseline"),
            timeout_s=timeout if timeout > 0 else None,
            backend=os.environ.get("STANCEFRAME_BACKEND", "onnx"),
            threads=threads,
        )
        if self.pair.transformer is not None:
            self.pair.transformer.batch_size = int(
                os.environ.get("STANCEFRAME_INFER_BATCH_SIZE", "8")
            )
        unavailable = None
        if not self.pair.ready:
            unavailable = (
                f"no model can answer: transformer: {self.pair.transformer_error}; "
                f"baseline: {self.pair.baseline_error}"
            )
            log.error("not ready: %s", unavailable)
        set_unavailable(unavailable)
        set_info_provider(self.describe)

    def __is_ready__(self) -> bool:
        return self.pair.ready

    def describe(self) -> dict:
        """Versions, schema, thresholds and dev metrics of both models; which one is active."""
        pair = self.pair
        return {
            "active": "transformer"
            if pair.transformer
            else ("baseline" if pair.baseline else None),
            "transformer": pair.transformer.describe() if pair.transformer else None,
            "transformer_error": pair.transformer_error,
            "baseline": pair.baseline.describe() if pair.baseline else None,
            "baseline_error": pair.baseline_error,
            "timeout_s": pair.timeout_s,
            "batching": BATCHING,
        }

    def _answer(self, items: list[ParagraphIn]) -> list[ParagraphResult]:
        """Group by requested model, predict with fallback, count what answered."""
        out: list[ParagraphResult | None] = [None] * len(items)
        for requested in ("auto", "transformer", "baseline"):
            idx = [i for i, p in enumerate(items) if p.model == requested]
            if not idx:
                continue
            results = self.pair.predict(
                [items[i].text for i in idx],
                [items[i].id for i in idx],
                requested,
                [items[i].context for i in idx],
            )
            for i, r in zip(idx, results, strict=True):
                out[i] = r
                REQUESTS.labels(model=r.model).inc()
                if r.fallback_reason:
                    FALLBACKS.labels(reason=r.fallback_reason).inc()
        return out

    @bentoml.api(
        route="/classify",
        batchable=BATCHING,
        max_batch_size=int(os.environ.get("STANCEFRAME_MAX_BATCH_SIZE", "64")),
        max_latency_ms=int(os.environ.get("STANCEFRAME_MAX_LATENCY_MS", "3000")),
    )
    def classify(self, paragraphs: Paragraphs) -> list[ParagraphOut]:
        """Classify a batch of paragraphs: frames with scores and figures with sentiment."""
        return [ParagraphOut.from_result(r) for r in self._answer(paragraphs)]

    @bentoml.api(route="/classify_article")
    def classify_article(self, article: ArticleIn) -> ArticleOut:
        """Split an article into paragraphs, classify each, and summarise the article."""
        from serving.article import summarise
        from serving.text import split_paragraphs

        parts = split_paragraphs(article.text)
        _check_article(parts)
        prefix = article.id or "article"
        texts = [text for _, _, text in parts]
        # Later paragraphs see the people named in earlier ones ("Ms Okafor" after "Grace Okafor").
        registry = (self.pair.transformer or self.pair.baseline).registry
        items = [
            ParagraphIn(id=f"{prefix}:p{i}", text=text, model=article.model, context=context)
            for i, (text, context) in enumerate(
                zip(texts, registry.document_contexts(texts), strict=True)
            )
        ]
        results = self._answer(items)
        return ArticleOut(
            id=prefix,
            paragraphs=[ParagraphOut.from_result(r) for r in results],
            summary=summarise(results, list(self.pair.schema.sentiments)),
        )


def _check_article(parts: list[tuple[int, int, str]]) -> None:
    """Articles obey the per-paragraph limits of ``/classify`` (400 with the reason otherwise)."""
    from bentoml.exceptions import InvalidArgument

    if not parts:
        raise InvalidArgument("article has no paragraph with text")
    if len(parts) > MAX_ARTICLE_PARAGRAPHS:
        raise InvalidArgument(
            f"article has {len(parts)} paragraphs; at most {MAX_ARTICLE_PARAGRAPHS} are accepted"
        )
    for i, (_, _, text) in enumerate(parts):
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidArgument(
                f"paragraph {i} has {len(text)} characters; at most {MAX_TEXT_CHARS} are accepted"
            )


RequestGuard.fields = {"/classify": {"paragraphs"}, "/classify_article": {"article"}}
StanceFrame.add_asgi_middleware(RequestGuard)
StanceFrame.mount_asgi_app(model_info_app(), path="/")
