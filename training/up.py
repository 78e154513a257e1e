"""The main job: train on first use (reusing stored models), then serve with a sample request."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from serving.store import has_model
from training.fit.config import load_config

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

SAMPLE = {
    "paragraphs": [
        {
            "id": "sample-1",
            "text": "Defeated candidates blamed Jeremy Corbyn's office for sending activists to "
            "seats Labour could never win.",
        },
        {
            "id": "sample-2",
            "text": "Candidates who lost their seats said head office had ignored every warning "
            "from the doorstep, and that the leader must take responsibility.",
        },
        {"id": "sample-3", "text": "Labour won Putney, its only gain of the night."},
    ]
}


def ensure_models(
    newsmtsc: str | None = None, echo: Callable[[str], None] = print
) -> dict[str, str]:
    """Train each shipped model that is not in the store yet; return ``{kind: status}``."""
    from training.fit.recipe import train

    status = {}
    for kind in ("baseline", "transformer"):
        cfg = load_config(CONFIG_DIR / f"{kind}.yaml")
        if has_model(cfg.model_name):
            status[kind] = "stored"
            continue
        if newsmtsc and kind == "transformer":
            cfg.data.newsmtsc = newsmtsc
        echo(f"training {kind} ({cfg.model_name}); this happens once")
        result = train(cfg)
        status[kind] = f"trained {result.tag} in {result.seconds:.0f}s"
    return status


def _get(url: str, body: dict | None = None, timeout: float = 5) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    """Poll ``/readyz`` until the server is ready; fail early if it exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bentoml serve exited with code {proc.returncode}")
        try:
            if _get(f"{url}/readyz", timeout=2)[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise TimeoutError(f"server at {url} not ready after {timeout_s:.0f}s")


def start_server(
    port: int, env: dict[str, str] | None = None, quiet: bool = False
) -> tuple[subprocess.Popen, str]:
    """Start ``bentoml serve`` for the service on 127.0.0.1 and wait until it is ready."""
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:StanceFrame",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(cmd, env=env or os.environ.copy(), stdout=out, stderr=out)
    try:
        wait_ready(url, proc)
    except BaseException:
        proc.terminate()
        raise
    return proc, url


def curl_line(url: str, payload: dict) -> str:
    """A curl command for ``payload`` that survives pasting into a POSIX shell (quotes inside the
    JSON, such as apostrophes in the text, are escaped by :func:`shlex.quote`)."""
    body = shlex.quote(json.dumps(payload))
    return (
        f"\ntry: curl -s -X POST {url}/classify -H 'Content-Type: application/json' \\\n"
        f"       -d {body}"
    )


def serve(
    port: int, sample: bool = True, once: bool = False, echo: Callable[[str], None] = print
) -> int:
    """Run ``bentoml serve`` on localhost, send the sample request, then serve until stopped
    (or stop right after the sample when ``once``)."""
    proc, url = start_server(port)
    try:
        if sample:
            status, body = _get(f"{url}/classify", SAMPLE, timeout=60)
            echo(f"\nPOST {url}/classify  ->  HTTP {status}")
            try:
                echo(json.dumps(json.loads(body), indent=2)[:4000])
            except ValueError:
                echo(body[:4000])
            echo(curl_line(url, {"paragraphs": SAMPLE["paragraphs"][:1]}))
        if once:
            return 0
        echo(
            f"\nserving on {url} (page: {url}/ui, API docs: {url}/, model: {url}/model); "
            "Ctrl-C stops"
        )
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
