"""Which model answers: the transformer, or the baseline when the transformer cannot.

``decide(requested, ready)`` is the one decision table, shared by the service and batch labelling;
``ModelPair`` applies it per batch and records why the baseline answered (``fallback_reason``):

* ``requested``: the caller asked for the baseline;
* ``transformer_unavailable``: the transformer is missing or failed to load;
* ``transformer_error``: it raised on this batch;
* ``transformer_timeout``: it did not answer in time (in the service: the caller's deadline,
  applied by :class:`serving.batcher.DeadlineBatcher`; here: ``timeout_s`` per batch, when set);
* ``transformer_busy``: with ``timeout_s``, a batch that timed out is still running on it.

``STANCEFRAME_FAIL_TRANSFORMER`` (``load``, ``predict`` or ``slow``) injects each failure (tests).
``STANCEFRAME_DRILL_FILE`` names a file whose content (``predict``, ``slow`` or empty) is read
before every batch, so a running server's drill can be switched on and off (the soak benchmark).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from serving.predictors.base import Predictor
from serving.predictors.factory import load_predictor
from serving.results import ParagraphResult

log = logging.getLogger("stanceframe.fallback")

REQUESTED = "requested"
UNAVAILABLE = "transformer_unavailable"
ERROR = "transformer_error"
TIMEOUT = "transformer_timeout"
BUSY = "transformer_busy"

FAIL_ENV = "STANCEFRAME_FAIL_TRANSFORMER"
DRILL_FILE_ENV = "STANCEFRAME_DRILL_FILE"
SLOW_S = 2.0  # how long an injected "slow" batch takes


def decide(requested: str, ready: bool) -> tuple[str, str | None]:
    """The model that answers a request for ``requested`` (auto, transformer or baseline) and the
    fallback reason, given whether the transformer is loaded (``ready``)."""
    if requested == "baseline":
        return "baseline", REQUESTED
    if requested not in ("auto", "transformer"):
        raise ValueError(f"unknown model {requested!r}: expected auto, transformer or baseline")
    return ("transformer", None) if ready else ("baseline", UNAVAILABLE)


def _drill() -> str:
    """The injected failure for this batch: the drill file's content, else the environment."""
    path = os.environ.get(DRILL_FILE_ENV)
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError:
            return ""
    return os.environ.get(FAIL_ENV, "")


class NoModelError(RuntimeError):
    """Neither model can answer (the service answers 503 with this message)."""


class _Busy(Exception):
    """A timed-out batch still occupies the transformer."""


def _try_load(name: str, **kwargs) -> tuple[Predictor | None, str | None]:
    try:
        return load_predictor(name, **kwargs), None
    except Exception as exc:  # missing, corrupt, wrong versions: the caller falls back
        return None, f"{type(exc).__name__}: {exc}"


def _same_labels(a: Predictor, b: Predictor) -> bool:
    return (
        a.schema.frame_names == b.schema.frame_names and a.schema.sentiments == b.schema.sentiments
    )


class ModelPair:
    """The transformer with the baseline behind it."""

    def __init__(
        self,
        transformer: Predictor | None,
        baseline: Predictor | None,
        timeout_s: float | None = None,
        transformer_error: str | None = None,
        baseline_error: str | None = None,
    ):
        self.transformer = transformer
        self.baseline = baseline
        self.timeout_s = timeout_s
        self.transformer_error = transformer_error
        self.baseline_error = baseline_error
        # One worker thread: a time limit needs the transformer off the caller's thread.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="transformer") if timeout_s else None
        self._abandoned: Future | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        transformer: str = "transformer",
        baseline: str = "baseline",
        timeout_s: float | None = None,
        backend: str = "torch",
        threads: int | None = None,
        batch_size: int | None = None,
    ) -> ModelPair:
        """Load both from the store; a model that cannot be loaded is recorded, not raised.
        ``batch_size``: the transformer's paragraphs per forward pass (``auto`` measures at it).

        The two must share one label schema (frames and sentiments), or answers would change
        shape with the model that gives them; a mismatched baseline is refused.
        """
        if os.environ.get(FAIL_ENV) == "load":
            t, t_err = None, f"injected load failure ({FAIL_ENV}=load)"
        else:
            t, t_err = _try_load(
                transformer, backend=backend, threads=threads, batch_size=batch_size
            )
        b, b_err = _try_load(baseline)
        if t is not None and b is not None and not _same_labels(t, b):
            b, b_err = (
                None,
                (
                    f"label schema differs from the transformer's "
                    f"({b.schema.frame_names} vs {t.schema.frame_names}); baseline not used"
                ),
            )
            log.error(b_err)
        return cls(t, b, timeout_s, t_err, b_err)

    @property
    def ready(self) -> bool:
        """True when at least one model can answer."""
        return self.transformer is not None or self.baseline is not None

    @property
    def schema(self):
        """The label schema of the model that answers first."""
        return (self.transformer or self.baseline).schema

    def predict(
        self,
        texts: list[str],
        ids: list[str | None] | None = None,
        requested: str = "auto",
        contexts: Sequence[Sequence[str] | None] | None = None,
        evidence: bool | Sequence[bool] = False,
    ) -> list[ParagraphResult]:
        """Predict with the model ``decide`` picks; on any transformer failure, the baseline.
        ``contexts`` and ``evidence`` as in :meth:`serving.predictors.base.Predictor.predict`."""
        model, reason = decide(requested, self.transformer is not None)
        if model == "transformer":
            try:
                return self._transformer(texts, ids, contexts, evidence)
            except _Busy:
                reason = BUSY
            except FutureTimeout:
                reason = TIMEOUT
            except Exception:
                log.exception("transformer failed on a batch of %d; baseline answers", len(texts))
                reason = ERROR
        return self.fallback(texts, ids, contexts, reason, evidence)

    def fallback(
        self,
        texts: list[str],
        ids: list[str | None] | None,
        contexts: Sequence[Sequence[str] | None] | None,
        reason: str | None,
        evidence: bool | Sequence[bool] = False,
    ) -> list[ParagraphResult]:
        """The baseline's answer, each result marked with ``reason``."""
        if self.baseline is None:
            raise NoModelError(
                f"no model can answer ({reason}): transformer: {self.transformer_error}; "
                f"baseline: {self.baseline_error}"
            )
        results = self.baseline.predict(texts, ids, contexts, evidence)
        for r in results:
            r.fallback_reason = reason
        return results

    def _transformer(self, texts, ids, contexts, evidence=False) -> list[ParagraphResult]:
        if self._pool is None:
            return self.transformer_predict(texts, ids, contexts, evidence)
        with self._lock:
            if self._abandoned is not None and not self._abandoned.done():
                raise _Busy
            future = self._pool.submit(self.transformer_predict, texts, ids, contexts, evidence)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            self._abandoned = future  # still running; later batches skip it until it ends
            raise

    def transformer_predict(
        self, texts, ids, contexts=None, evidence=False
    ) -> list[ParagraphResult]:
        """The transformer's answer, no fallback and no time limit (drills applied)."""
        fail = _drill()
        if fail == "predict":
            raise RuntimeError(f"injected transformer failure ({FAIL_ENV}=predict)")
        if fail == "slow":
            time.sleep(SLOW_S)
        return self.transformer.predict(texts, ids, contexts, evidence)
