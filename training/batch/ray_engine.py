"""Ray Data engine for batch labelling (``--engine ray``; needs the ``ray`` extra).

The same readers, windows and output rows as the local engine, with labelling spread over an
actor pool:

* one read task streams ``(position, item)`` blocks from :func:`training.batch.readers.iter_items`
(the
  readers that validate rows, name ids and skip resumed positions);
* ``map_batches`` with a class UDF on a fixed-size ``ActorPoolStrategy``: each actor loads the
  model once (:func:`training.batch.engine.load_model`, so ``auto`` falls back exactly as locally)
  and
  labels windows of ``chunk_size`` rows with :func:`training.batch.engine.label_window`;
* the driver iterates the results in position order (``preserve_order``) and hands them to the
  same chunk writer, so crash safety and ``--resume`` work unchanged.

Without ``--ray-address`` a small local Ray instance is started (every core, a 300 MB object
store, no dashboard) and stopped afterwards. With an address, the cluster's workers must see the
input files and the model store at the same paths and have this package installed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict
from itertools import islice
from typing import Any

import numpy as np

from training.batch.engine import Record, label_window, load_model
from training.batch.readers import Item, LabelOptions, Source, iter_items

OBJECT_STORE_BYTES = 300 * 1024**2
BLOCK_ROWS = 1024  # rows per block the read task emits
READ_CPUS = 0.25  # the reader mostly waits on the actors; keep its CPU for them
# Passed to every worker so actors find the same model store and stay offline.
PASS_ENV = (
    "BENTOML_HOME",
    "HF_HUB_OFFLINE",
    "HF_HOME",
    "TOKENIZERS_PARALLELISM",
    "STANCEFRAME_LABELS_DIR",
)


class LabelActor:
    """Class UDF: the model is loaded once per actor, then labels one window per call."""

    def __init__(
        self, model: str, backend: str, batch_size: int, threads: int = 1, evidence: bool = False
    ):
        import torch

        # Actors hold fractional CPUs, so set the thread count ourselves: torch now, and
        # onnxruntime through OMP_NUM_THREADS (read by serving.predictors.onnx when it loads).
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)
        self.labeller = load_model(model, backend, batch_size, evidence)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        window = [
            (int(pos), Item(**json.loads(item)))
            for pos, item in zip(batch["pos"], batch["item"], strict=True)
        ]
        records = label_window(self.labeller, window, self.batch_size)
        return {
            "pos": np.array([pos for pos, _, _ in records], dtype=np.int64),
            "kind": np.array([kind for _, kind, _ in records], dtype=object),
            # JSON text: nested results with optional fields would not type the same per block
            "row": np.array([json.dumps(row, ensure_ascii=False) for _, _, row in records], object),
        }


def _item_source(sources: list[Source], opts: LabelOptions, start: int) -> Any:
    """A Ray Datasource with one read task that streams item blocks (built lazily: ray import)."""
    import pyarrow as pa
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class ItemSource(Datasource):
        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(self, parallelism, per_task_row_limit=None, data_context=None):
            def read() -> Iterator[pa.Table]:
                items = iter_items(sources, opts, start)
                while block := list(islice(items, BLOCK_ROWS)):
                    yield pa.table(
                        {
                            "pos": pa.array([pos for pos, _ in block], pa.int64()),
                            "item": [json.dumps(asdict(item)) for _, item in block],
                        }
                    )

            meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
            return [ReadTask(read, meta, per_task_row_limit=per_task_row_limit)]

    return ItemSource()


def start_ray(address: str | None) -> bool:
    """Connect to ``address`` or start a small local instance; False when Ray was already up."""
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    common = {
        "runtime_env": {"env_vars": env},
        "logging_level": logging.WARNING,
        "configure_logging": True,
    }
    if address:
        ray.init(address=address, **common)
    else:
        ray.init(
            num_cpus=os.cpu_count() or 1,
            object_store_memory=OBJECT_STORE_BYTES,
            include_dashboard=False,
            **common,
        )
    return True


def check_model(model: str) -> None:
    """Raise ``LookupError`` on the driver when the store lacks the model, before any actor
    starts: a failing actor constructor only surfaces after Ray's retries, in pages of logs."""
    from serving.store import DEFAULT_NAMES, find_model

    names = ["transformer", "baseline"] if model == "auto" else [model]
    errors = []
    for name in names:
        try:
            find_model(DEFAULT_NAMES.get(name, name))
            return
        except LookupError as exc:
            errors.append(str(exc))
    raise LookupError("; ".join(errors))


def ray_records(sources: list[Source], opts: LabelOptions, start: int) -> Iterator[Record]:
    """Records from position ``start`` on, in order, labelled by a Ray actor pool."""
    import ray
    import ray.data

    check_model(opts.model)
    owned = start_ray(opts.ray_address)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # the writer commits positions in order
        ctx.enable_progress_bars = False  # the driver draws the one progress bar
        cpus = float(ray.cluster_resources().get("CPU", 1))
        actors = opts.ray_actors or max(1, int(cpus))
        # The read task holds READ_CPUS for the whole run; actors share the rest, or on a small
        # machine the pool takes every CPU first and the read task never starts.
        actor_cpus = min(1.0, max(0.1, (cpus - READ_CPUS) / actors))
        ds = ray.data.read_datasource(_item_source(sources, opts, start), num_cpus=READ_CPUS)
        ds = ds.map_batches(
            LabelActor,
            fn_constructor_kwargs={
                "model": opts.model,
                "backend": opts.backend,
                "evidence": opts.evidence,
                "batch_size": opts.batch_size,
                "threads": max(1, round(actor_cpus)),
            },
            batch_size=opts.chunk_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=actor_cpus,
            udf_modifying_row_count=False,
        )
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for pos, kind, row in zip(batch["pos"], batch["kind"], batch["row"], strict=True):
                yield int(pos), str(kind), json.loads(row)
    finally:
        if owned:
            ray.shutdown()
