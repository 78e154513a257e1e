"""Background retraining of the baseline from Label Studio annotations, coalesced and hot-swapped.

The service never imports ``training`` (the import rule), so retraining runs the ``stanceframe
train`` command line in a subprocess: the same recipe a user runs, with ``--extra`` naming the
collected annotations. Annotations arriving while a run is in flight are stored at once and
coalesced into one more run after it ("queued"), so nothing is lost and at most one run is
pending. When a run succeeds the service loads the new baseline version (``on_done``).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("stanceframe.retrain")

DEFAULT_COMMAND = (
    f"{shlex.quote(sys.executable)} -m training.cli train --config training/configs/baseline.yaml"
)


def default_folder() -> Path:
    """Where annotations are kept: ``$BENTOML_HOME/stanceframe-labelstudio``."""
    home = os.environ.get("BENTOML_HOME") or os.path.expanduser("~/bentoml")
    return Path(home) / "stanceframe-labelstudio"


class Retrainer:
    """Stores annotations per project and runs one retraining at a time, coalescing requests."""

    def __init__(
        self,
        folder: Path,
        command: str = DEFAULT_COMMAND,
        on_done: Callable[[], None] | None = None,
    ):
        self.folder = Path(folder)
        self.command = command
        self.on_done = on_done
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self.runs: list[dict[str, Any]] = []

    # --------------------------------------------------------------------------- annotations
    def export_path(self, project: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in project) or "default"
        return self.folder / f"project-{safe}.json"

    def add(self, project: str, task: dict[str, Any], annotation: dict[str, Any]) -> int:
        """Store ``annotation`` of ``task`` (the latest per task wins); return the task count."""
        path = self.export_path(project)
        with self._lock:
            tasks = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
            key = task.get("id")
            tasks = [t for t in tasks if key is None or t.get("id") != key]
            tasks.append({**task, "annotations": [annotation]})
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)  # a crash never leaves half a file
            return len(tasks)

    # ------------------------------------------------------------------------------ training
    def request(self) -> str:
        """Start a run, or queue one after the run in flight (coalesced). Returns the status."""
        with self._lock:
            if self._running:
                self._pending = True
                return "queued"
            self._running = True
        threading.Thread(target=self._loop, name="retrain", daemon=True).start()
        return "started"

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "is_training": self._running,
                "queued": self._pending,
                "runs": self.runs[-5:],
            }

    def wait(self, timeout_s: float) -> bool:
        """Block until no run is in flight or queued (tests, shutdown); False on timeout."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if not self.status()["is_training"]:
                return True
            time.sleep(0.2)
        return False

    def _loop(self) -> None:
        while True:
            self._run_once()
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False

    def _run_once(self) -> None:
        extras = sorted(str(p) for p in self.folder.glob("project-*.json"))
        cmd = shlex.split(self.command) + [arg for p in extras for arg in ("--extra", p)]
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        run = {
            "returncode": proc.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "annotation_files": len(extras),
            "output": (proc.stdout or proc.stderr).strip().splitlines()[-1:] or [""],
        }
        self.runs.append(run)
        if proc.returncode != 0:
            log.error("retraining failed (%s): %s", proc.returncode, proc.stderr[-2000:])
            return
        log.info("retrained in %.1f s: %s", run["seconds"], run["output"][0])
        if self.on_done is not None:
            try:
                self.on_done()
            except Exception:  # the old baseline keeps answering
                log.exception("could not load the retrained baseline")
