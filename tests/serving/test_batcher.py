"""The deadline batcher: merged transformer calls, and the caller's deadline (queue included)
answered by the baseline. A gate holds the transformer so the order of events is fixed."""

import asyncio
import threading

import pytest

from serving.batcher import DeadlineBatcher
from serving.fallback import ERROR, REQUESTED, TIMEOUT, ModelPair, NoModelError
from serving.predictors.factory import load_predictor

TEXT = "Labour lost Putney, and the leader's office is to blame."


class GatedPair(ModelPair):
    """The real pair, whose transformer calls wait for ``gate`` and are recorded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.finished = threading.Event()
        self.calls: list[int] = []
        self.fail = False

    def transformer_predict(self, texts, ids, contexts=None, evidence=False):
        self.gate.wait(timeout=30)
        self.calls.append(len(texts))
        try:
            if self.fail:
                raise RuntimeError("broken batch")
            return super().transformer_predict(texts, ids, contexts, evidence)
        finally:
            self.finished.set()


@pytest.fixture(scope="module")
def predictors(trained_models):
    return load_predictor(trained_models["transformer"]), load_predictor(trained_models["baseline"])


def _ask(batcher, n=1, requested="auto"):
    return batcher.predict([TEXT] * n, [f"r{i}" for i in range(n)], requested)


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_one_transformer_call(predictors):
    pair = GatedPair(*predictors)
    batcher = DeadlineBatcher(pair, timeout_s=None)

    async def scenario():
        first = asyncio.create_task(_ask(batcher))
        await asyncio.sleep(0.05)  # the first call is now running (held by the gate)
        rest = [asyncio.create_task(_ask(batcher, 2)) for _ in range(4)]
        await asyncio.sleep(0.05)
        pair.gate.set()
        return await first, await asyncio.gather(*rest)

    first, rest = _run(scenario())
    assert pair.calls == [1, 8]  # the four queued requests went in one call
    assert [len(r) for r in rest] == [2, 2, 2, 2]
    assert all(r.model == "transformer" and r.fallback_reason is None for r in first)
    assert [r.id for r in rest[0]] == ["r0", "r1"]
    batcher.close()


def test_without_batching_each_request_is_its_own_call(predictors):
    pair = GatedPair(*predictors)
    pair.gate.set()
    batcher = DeadlineBatcher(pair, timeout_s=None, batching=False)

    async def scenario():
        return await asyncio.gather(*[_ask(batcher, 2) for _ in range(3)])

    _run(scenario())
    assert pair.calls == [2, 2, 2]
    batcher.close()


def test_max_batch_size_bounds_a_merged_call(predictors):
    pair = GatedPair(*predictors)
    batcher = DeadlineBatcher(pair, timeout_s=None, max_batch_size=4)

    async def scenario():
        first = asyncio.create_task(_ask(batcher))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(_ask(batcher, 3)) for _ in range(3)]
        await asyncio.sleep(0.05)
        pair.gate.set()
        await asyncio.gather(first, *rest)

    _run(scenario())
    assert pair.calls == [1, 3, 3, 3]
    batcher.close()


def test_the_baseline_answers_when_the_callers_deadline_passes(predictors):
    pair = GatedPair(*predictors)  # the gate stays shut: the transformer never answers in time
    batcher = DeadlineBatcher(pair, timeout_s=0.3)
    results = _run(_ask(batcher, 2))
    assert [(r.model, r.fallback_reason) for r in results] == [("baseline", TIMEOUT)] * 2
    pair.gate.set()
    batcher.close()


def test_time_spent_queued_counts_against_the_deadline(predictors):
    pair = GatedPair(*predictors)
    batcher = DeadlineBatcher(pair, timeout_s=0.5)

    async def scenario():
        first = asyncio.create_task(_ask(batcher))  # holds the transformer
        await asyncio.sleep(0.3)
        queued = await _ask(batcher)  # waits behind it; its own batch never starts in time
        pair.gate.set()
        # the held call ends on its thread; then the worker looks at the queue again
        await asyncio.get_running_loop().run_in_executor(None, pair.finished.wait, 10)
        await asyncio.sleep(0)
        return await first, queued

    first, queued = _run(scenario())
    assert queued[0].fallback_reason == TIMEOUT
    assert first[0].fallback_reason == TIMEOUT
    assert pair.calls == [1]  # the abandoned request was not run afterwards
    batcher.close()


def test_a_request_that_cannot_finish_in_time_is_handed_back_at_once(predictors):
    pair = GatedPair(*predictors)
    batcher = DeadlineBatcher(pair, timeout_s=5.0)
    batcher.seconds_per_paragraph = 1.0  # as measured on earlier calls

    async def scenario():
        head = asyncio.create_task(_ask(batcher, 1))
        behind = asyncio.create_task(_ask(batcher, 6))  # 1 + 6 paragraphs > 5 s at 1 s each
        await asyncio.sleep(0.05)
        pair.gate.set()
        return await head, await behind

    head, behind = _run(scenario())
    assert head[0].model == "transformer"
    assert {r.fallback_reason for r in behind} == {TIMEOUT}
    assert pair.calls == [1]
    batcher.close()


def test_a_failing_transformer_call_falls_back_for_every_request_in_it(predictors):
    pair = GatedPair(*predictors)
    pair.fail = True
    pair.gate.set()
    batcher = DeadlineBatcher(pair, timeout_s=5.0)

    async def scenario():
        return await asyncio.gather(_ask(batcher), _ask(batcher, 2))

    for results in _run(scenario()):
        assert {(r.model, r.fallback_reason) for r in results} == {("baseline", ERROR)}
    batcher.close()


def test_requested_baseline_never_queues_for_the_transformer(predictors):
    pair = GatedPair(*predictors)
    batcher = DeadlineBatcher(pair, timeout_s=None)
    [r] = _run(_ask(batcher, requested="baseline"))
    assert (r.model, r.fallback_reason) == ("baseline", REQUESTED) and pair.calls == []
    batcher.close()


def test_without_a_baseline_requests_wait_for_the_transformer(predictors):
    transformer, _ = predictors
    pair = GatedPair(transformer, None)
    batcher = DeadlineBatcher(pair, timeout_s=0.1)

    async def scenario():
        task = asyncio.create_task(_ask(batcher))
        await asyncio.sleep(0.3)  # past the deadline, but there is nothing to shed to
        pair.gate.set()
        return await task

    [r] = _run(scenario())
    assert r.model == "transformer"
    pair.fail = True
    with pytest.raises(NoModelError, match="no model can answer"):
        _run(_ask(batcher))
    batcher.close()
