"""BentoML service: the transformer answers, the baseline takes over when it cannot.

Run: ``bentoml serve serving.service:StanceFrame``. Settings are ``STANCEFRAME_*`` environment
variables read into one :class:`serving.settings.ServiceSettings` in ``__init__`` (model names,
the caller's deadline, batching, backend, inference batch size, threads); only ``workers`` is also
read at class definition, where BentoML fixes it. ``GET /model`` shows them. Requests are batched
across callers by :class:`serving.batcher.DeadlineBatcher` (not BentoML's adaptive batching, whose
queue answers 503 under load where this one sheds to the baseline). Input limits:
:mod:`serving.api_types`; request envelope checks: :mod:`serving.http`.
"""

from __future__ import annotations

import dataclasses
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
from serving.http import (
    RequestGuard,
    model_info_app,
    note_error,
    set_info_provider,
    set_unavailable,
)
from serving.labelstudio_backend import ml_backend_app
from serving.results import ParagraphResult
from serving.settings import ServiceSettings

log = logging.getLogger("stanceframe.service")

# Read at import only for what BentoML fixes at class definition: the number of workers.
DEFINITION = ServiceSettings.from_env()

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
    workers=DEFINITION.workers,
    traffic={"timeout": 60},
)
class StanceFrame:
    """Frames and figure sentiment for paragraphs of political news."""

    def __init__(self) -> None:
        import torch

        from serving.batcher import DeadlineBatcher
        from serving.fallback import ModelPair

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.settings = settings = ServiceSettings.from_env()
        threads = settings.cpu_threads
        torch.set_num_threads(threads)
        self.pair = ModelPair.load(
            settings.transformer,
            settings.baseline,
            backend=settings.backend,
            threads=threads,
            batch_size=settings.infer_batch_size,
        )
        self.batcher = DeadlineBatcher(
            self.pair,
            timeout_s=settings.timeout_s,
            max_batch_size=settings.max_batch_size,
            batching=settings.batching,
        )
        if self.pair.transformer is not None:
            self.pair.transformer.batch_size = settings.infer_batch_size
        self._attach_labelstudio()
        unavailable = None
        if not self.pair.ready:
            unavailable = (
                f"no model can answer: transformer: {self.pair.transformer_error}; "
                f"baseline: {self.pair.baseline_error}"
            )
            log.error("not ready: %s", unavailable)
        set_unavailable(unavailable)
        set_info_provider(self.describe)

    def _attach_labelstudio(self) -> None:
        """The Label Studio ML backend's view of this service, with a baseline retrainer."""
        from pathlib import Path

        from serving.labelstudio_backend import Backend, attach
        from serving.retrain import DEFAULT_COMMAND, Retrainer, default_folder

        settings = self.settings
        self.retrainer = Retrainer(
            Path(settings.labelstudio_dir) if settings.labelstudio_dir else default_folder(),
            settings.retrain_command or DEFAULT_COMMAND,
            on_done=self._reload_baseline,
        )
        attach(
            Backend(
                predict=lambda texts: self.pair.predict(texts),
                schema=lambda: self.pair.schema,
                version=lambda: (self.pair.transformer or self.pair.baseline).version,
                retrainer=self.retrainer,
            )
        )

    def _reload_baseline(self) -> None:
        """Hot-swap the baseline for the newest stored version (after a retraining run)."""
        from serving.predictors.factory import load_predictor

        new = load_predictor(self.settings.baseline)
        current = self.pair.transformer or self.pair.baseline
        if current is not None and new.schema.frame_names != current.schema.frame_names:
            raise ValueError("retrained baseline has another label set; not swapped in")
        self.pair.baseline = new
        log.info("baseline swapped in: %s", new.version)

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
            "timeout_s": self.batcher.timeout_s,
            "batching": self.batcher.batching,
            "transformer_s_per_paragraph": self.batcher.seconds_per_paragraph,
            "settings": dataclasses.asdict(self.settings),
        }

    async def _answer(self, items: list[ParagraphIn]) -> list[ParagraphResult]:
        """Group by requested model, predict with fallback, count what answered."""
        from bentoml.exceptions import ServiceUnavailable

        from serving.fallback import NoModelError

        out: list[ParagraphResult | None] = [None] * len(items)
        for requested in ("auto", "transformer", "baseline"):
            idx = [i for i, p in enumerate(items) if p.model == requested]
            if not idx:
                continue
            try:
                results = await self.batcher.predict(
                    [items[i].text for i in idx],
                    [items[i].id for i in idx],
                    requested,
                    [items[i].context for i in idx],
                    [items[i].evidence for i in idx],
                )
            except NoModelError as exc:
                note_error(str(exc))
                raise ServiceUnavailable(str(exc)) from exc
            for i, r in zip(idx, results, strict=True):
                out[i] = r
                REQUESTS.labels(model=r.model).inc()
                if r.fallback_reason:
                    FALLBACKS.labels(reason=r.fallback_reason).inc()
        return out

    @bentoml.api(route="/classify")
    async def classify(self, paragraphs: Paragraphs) -> list[ParagraphOut]:
        """Classify a batch of paragraphs: frames with scores and figures with sentiment."""
        return [ParagraphOut.from_result(r) for r in await self._answer(paragraphs)]

    @bentoml.api(route="/classify_article")
    async def classify_article(self, article: ArticleIn) -> ArticleOut:
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
            ParagraphIn(
                id=f"{prefix}:p{i}",
                text=text,
                model=article.model,
                context=context,
                evidence=article.evidence,
            )
            for i, (text, context) in enumerate(
                zip(texts, registry.document_contexts(texts), strict=True)
            )
        ]
        results = await self._answer(items)
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


# The guard's allowed top-level fields come from the APIs' own input types: one source of truth.
StanceFrame.add_asgi_middleware(
    RequestGuard,
    fields={api.route: list(api.input_spec.model_fields) for api in StanceFrame.apis.values()},
)
StanceFrame.mount_asgi_app(ml_backend_app(), path="/labelstudio")
StanceFrame.mount_asgi_app(model_info_app(), path="/")
