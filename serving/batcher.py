"""Micro-batching with a deadline per request: the transformer answers what it can in time, the
baseline answers the rest.

Requests (each a list of paragraphs) wait in one queue. One worker takes what is queued whenever
the transformer is free (up to ``max_batch_size`` paragraphs; one request at a time when
``batching`` is off), runs one transformer call on a dedicated thread and hands each request its
rows. The limit that counts is the caller's wait, queue included: a request still unanswered
``timeout_s`` after it arrived (less a small reserve for the baseline) is answered by the baseline
with ``fallback_reason`` ``transformer_timeout``, and a request the worker can see will not finish
in time at the current speed is handed back at once. So a slow transformer or a busy machine
sheds load to the baseline instead of to errors. Without a baseline there is nothing to shed to:
requests then wait for the transformer.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from serving.fallback import ERROR, TIMEOUT, ModelPair, NoModelError, decide
from serving.results import ParagraphResult

log = logging.getLogger("stanceframe.batcher")

BASELINE_RESERVE_S = 0.05
"""Time kept back from the caller's deadline for the baseline's own answer (it takes ~1 ms per
paragraph on the dev machine, see the README's throughput table)."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    ids: list[str | None]
    contexts: list[Sequence[str] | None]
    evidence: list[bool]
    deadline: float
    future: asyncio.Future = field(repr=False)
    abandoned: bool = False
    """The caller stopped waiting (deadline passed): the worker skips it."""


class DeadlineBatcher:
    """Batches transformer calls across concurrent requests, each with its own deadline.

    Create it outside an event loop; the worker starts with the first request, in that loop.
    """

    def __init__(
        self,
        pair: ModelPair,
        timeout_s: float | None = 5.0,
        max_batch_size: int = 64,
        batching: bool = True,
    ):
        self.pair = pair
        self.timeout_s = timeout_s if timeout_s and timeout_s > 0 else None
        self.max_batch_size = max(1, max_batch_size)
        self.batching = batching
        self.seconds_per_paragraph: float | None = None
        """Running estimate of the transformer's time per paragraph (exponential average)."""
        self._queue: deque[_Job] = deque()
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        # One thread: the transformer uses every core itself; two calls would only contend.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="transformer")

    async def predict(
        self,
        texts: list[str],
        ids: list[str | None],
        requested: str = "auto",
        contexts: Sequence[Sequence[str] | None] | None = None,
        evidence: Sequence[bool] | None = None,
    ) -> list[ParagraphResult]:
        """Answer one request's paragraphs: the transformer within the deadline, else the
        baseline (``fallback_reason`` says why). Raises :class:`NoModelError` when neither can.
        ``evidence``: per paragraph, whether to add evidence (:mod:`serving.evidence`)."""
        contexts = list(contexts or [None] * len(texts))
        flags = list(evidence or [False] * len(texts))
        model, reason = decide(requested, self.pair.transformer is not None)
        if model == "baseline":
            return await self._baseline(texts, ids, contexts, flags, reason)
        loop = asyncio.get_running_loop()
        self._start(loop)
        can_shed = self.pair.baseline is not None and self.timeout_s is not None
        deadline = loop.time() + self.timeout_s if can_shed else math.inf
        job = _Job(texts, ids, contexts, flags, deadline, loop.create_future())
        self._queue.append(job)
        self._wake.set()
        wait = max(0.0, deadline - loop.time() - BASELINE_RESERVE_S) if can_shed else None
        try:
            outcome = await asyncio.wait_for(asyncio.shield(job.future), wait)
        except TimeoutError:
            job.abandoned = True
            outcome = TIMEOUT
        if isinstance(outcome, str):  # a fallback reason
            return await self._baseline(texts, ids, contexts, flags, outcome)
        return outcome

    async def _baseline(self, texts, ids, contexts, flags, reason) -> list[ParagraphResult]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, self.pair.fallback, texts, ids, contexts, reason, flags
        )

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._work(), name="stanceframe-batcher")

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while jobs := self._take(loop.time()):
                await self._run(loop, jobs)

    def _take(self, now: float) -> list[_Job]:
        """The next batch: queued requests in arrival order, skipping those whose caller has
        gone and handing back at once those that cannot finish before their deadline."""
        batch: list[_Job] = []
        size = 0
        while self._queue:
            job = self._queue[0]
            if job.abandoned or job.future.done():
                self._queue.popleft()
                continue
            if now > job.deadline - BASELINE_RESERVE_S or (batch and self._late(job, now, size)):
                self._queue.popleft()
                job.future.set_result(TIMEOUT)
                continue
            if batch and (not self.batching or size + len(job.texts) > self.max_batch_size):
                break
            batch.append(self._queue.popleft())
            size += len(job.texts)
        return batch

    def _late(self, job: _Job, now: float, queued_before: int) -> bool:
        # Only for requests behind the batch's first one: the first always runs, so the speed
        # estimate keeps being measured and cannot shed everything forever after one slow batch.
        if self.seconds_per_paragraph is None or job.deadline == math.inf:
            return False
        expected = self.seconds_per_paragraph * (queued_before + len(job.texts))
        return now + expected > job.deadline - BASELINE_RESERVE_S

    async def _run(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        texts = [t for j in jobs for t in j.texts]
        ids = [i for j in jobs for i in j.ids]
        contexts = [c for j in jobs for c in j.contexts]
        flags = [f for j in jobs for f in j.evidence]
        started = loop.time()
        try:
            results = await loop.run_in_executor(
                self._executor, self.pair.transformer_predict, texts, ids, contexts, flags
            )
        except Exception:
            log.exception("transformer failed on a batch of %d; baseline answers", len(texts))
            for job in jobs:
                if not job.future.done():
                    job.future.set_result(ERROR)
            return
        per = (loop.time() - started) / max(1, len(texts))
        old = self.seconds_per_paragraph
        self.seconds_per_paragraph = per if old is None else 0.7 * old + 0.3 * per
        start = 0
        for job in jobs:
            part = results[start : start + len(job.texts)]
            start += len(job.texts)
            if not job.future.done():
                job.future.set_result(part)

    def close(self) -> None:
        """Stop the worker and the transformer thread (tests; the server exits anyway)."""
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = ["DeadlineBatcher", "NoModelError"]
