"""Saving models to and finding them in the BentoML model store.

The store lives under ``$BENTOML_HOME/models`` (BentoML's default ``BENTOML_HOME`` is
``~/bentoml``; the Makefile points it at the repo's ignored ``.bentoml/``). Each model folder holds
the artefacts plus ``stanceframe.json``: kind, label schema, figure registry, thresholds, training
config, training-data hash, library versions and dev metrics.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from serving.model_info import ModelInfo

INFO_FILE = "stanceframe.json"
DEFAULT_NAMES = {"transformer": "stanceframe-transformer", "baseline": "stanceframe-baseline"}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    out = {"python": platform.python_version()}
    for pkg in ("stanceframe", "torch", "transformers", "scikit-learn", "bentoml", "numpy"):
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def _flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat_metrics(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def save_model(name: str, info: ModelInfo, write: Callable[[Path], None]) -> str:
    """Create a new version of ``name`` in the store; ``write(folder)`` writes the artefacts.

    Returns the new tag (``name:version``).
    """
    import bentoml

    labels = {"kind": info.kind, "schema_version": info.schema.version}
    metadata: dict[str, Any] = _flat_metrics(dict(info.dev_metrics), "dev.")
    metadata["data_hash"] = info.data_hash
    with bentoml.models.create(name, labels=labels, metadata=metadata) as model:
        folder = Path(model.path)
        write(folder)
        stored = info.replace(tag=str(model.tag)).to_dict()
        (folder / INFO_FILE).write_text(json.dumps(stored, indent=2, default=str), encoding="utf-8")
    return str(model.tag)


LEGACY_FILES = ("baseline.pkl", "heads.pt")
"""Files of models saved before version 0.2 (pickle): refused on load, retrain them."""


def refuse_legacy(folder: Path) -> None:
    """Raise a clear error for a model saved in a format that could run code when loaded."""
    for name in LEGACY_FILES:
        if (folder / name).exists():
            raise LookupError(
                f"model in {folder} was saved with pickle ({name}) by an older stanceframe; "
                "it is not loaded because unpickling can run code. Retrain it: make train"
            )


def find_model(name_or_tag: str) -> tuple[Path, ModelInfo]:
    """Folder and info of a stored model: a kind (``transformer``/``baseline``), a name (its
    latest version) or a tag.

    Raises ``LookupError`` with the reason when it is absent or incomplete.
    """
    import bentoml

    name_or_tag = DEFAULT_NAMES.get(name_or_tag, name_or_tag)  # "transformer" / "baseline"
    tag = name_or_tag if ":" in name_or_tag else f"{name_or_tag}:latest"
    try:
        model = bentoml.models.get(tag)
    except Exception as exc:  # bentoml raises its own NotFound; the reason is what matters
        raise LookupError(f"model '{tag}' not found in the BentoML store: {exc}") from exc
    folder = Path(model.path)
    info_path = folder / INFO_FILE
    if not info_path.exists():
        raise LookupError(f"model '{model.tag}' has no {INFO_FILE}; not a stanceframe model")
    refuse_legacy(folder)
    try:
        info = ModelInfo.from_dict(json.loads(info_path.read_text(encoding="utf-8")))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        raise LookupError(f"model '{model.tag}': unreadable {INFO_FILE}: {exc}") from exc
    return folder, info.replace(tag=str(model.tag))


def has_model(name: str) -> bool:
    """True when at least one version of ``name`` is in the store."""
    try:
        find_model(name)
    except LookupError:
        return False
    return True
