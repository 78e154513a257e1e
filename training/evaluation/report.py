"""Presenting evaluation metrics: terminal table, ``metrics.json``, ``report.md`` and PNG plots.

Works on the metrics dict built by :func:`training.evaluation.run.run_evaluation` only (no model, no
data), so a report can be rebuilt from a saved ``metrics.json``. Label names come from the
metrics themselves, which carry the model's schema order. Plots are drawn on Agg canvases
directly (no pyplot), so nothing depends on, or changes, a global matplotlib backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from training.evaluation.metrics import lookup_path

Metrics = Mapping[str, Any]

# Row labels of headline numbers that are not per label; the rest are built from the data.
_TITLES = {
    "frames.macro_f1": "frames macro-F1",
    "frames.micro_f1": "frames micro-F1",
    "frames.exact_match": "frames exact match",
    "figures.detection.precision": "figure detection precision",
    "figures.detection.recall": "figure detection recall",
    "figures.detection.f1": "figure detection F1",
    "figures.sentiment.accuracy": "sentiment accuracy (found)",
    "figures.sentiment.macro_f1": "sentiment macro-F1 (found)",
    "calibration.ece": "frames ECE (pooled)",
    "robustness.frames.exact_match": "pairs: same frame set",
    "robustness.figure_sentiment.agreement": "pairs: same figure sentiment",
}


# ---------------------------------------------------------------------------------- lookups
def value_at(model: Metrics, path: str) -> float | None:
    """A number in one model's metrics by dotted path; None when absent or not a number."""
    try:
        value = lookup_path(model, path)
    except KeyError:
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None


def ci_at(model: Metrics, path: str) -> tuple[float, float] | None:
    """The bootstrap interval stored for a metric path, if any."""
    ci = (model.get("ci") or {}).get(path)
    return (ci["low"], ci["high"]) if ci else None


def frame_labels(metrics: Metrics) -> list[str]:
    """Frame names in schema order, from the metrics."""
    return list(metrics["labels"]["frames"])


def table_rows(metrics: Metrics) -> list[tuple[str, str]]:
    """``(metric path, title)`` rows of the headline table, in reading order.

    The path column is what ``--fail-under`` accepts. Robustness and NewsMTSC rows appear only
    when some model has those numbers.
    """
    labels = frame_labels(metrics)
    models = list(metrics["models"].values())
    rows = [(p, _TITLES[p]) for p in ("frames.macro_f1", "frames.micro_f1", "frames.exact_match")]
    for name in labels:
        for part in ("precision", "recall", "f1"):
            rows.append((f"frames.per_label.{name}.{part}", f"{name} {part}"))
    rows += [
        (p, _TITLES[p])
        for p in (
            "figures.detection.precision",
            "figures.detection.recall",
            "figures.detection.f1",
            "figures.sentiment.accuracy",
            "figures.sentiment.macro_f1",
            "calibration.ece",
        )
    ]
    rows += [(f"calibration.per_label.{name}.ece", f"{name} ECE") for name in labels]
    if any("robustness" in m for m in models):
        rows.append(("robustness.frames.exact_match", _TITLES["robustness.frames.exact_match"]))
        rows += [(f"robustness.frames.per_label.{n}", f"pairs: same {n}") for n in labels]
        path = "robustness.figure_sentiment.agreement"
        rows.append((path, _TITLES[path]))
    splits = list(dict.fromkeys(s for m in models for s in (m.get("newsmtsc") or {})))
    rows += [(f"newsmtsc.{s}.f1m", f"NewsMTSC {s} F1m") for s in splits]
    return rows


# ------------------------------------------------------------------------------------ tables
def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _interval(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _cells(metrics: Metrics) -> tuple[list[str], list[list[str]]]:
    """Header and body cells: metric path, then value and 95 % CI per model."""
    names = list(metrics["models"])
    header = ["metric"] + [c for n in names for c in (n, "95 % CI")]
    body = []
    for path, _ in table_rows(metrics):
        row = [path]
        for name in names:
            model = metrics["models"][name]
            row += [_num(value_at(model, path)), _interval(ci_at(model, path))]
        body.append(row)
    return header, body


def format_table(metrics: Metrics) -> str:
    """Plain-text table for the terminal: one row per metric, value and 95 % CI per model."""
    header, body = _cells(metrics)
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        # Metric names and intervals left-aligned, values right-aligned (decimal points line up).
        padded = [
            c.rjust(w) if k % 2 else c.ljust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    bs = metrics["bootstrap"]
    title = [
        f"{metrics['n_paragraphs']} paragraphs, {metrics['n_frames_annotated']} with frame labels",
        f"95 % CI: percentile bootstrap, {bs['resamples']} {bs['unit']} resamples, "
        f"seed {bs['seed']}; "
        f"ECE: {metrics['calibration']['n_bins']} equal-width bins",
    ]
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([*title, line(header), rule, *(line(r) for r in body)])


def markdown_table(metrics: Metrics) -> str:
    """The same table in Markdown."""
    header, body = _cells(metrics)
    titles = dict(table_rows(metrics))
    header = ["metric", "path", *header[1:]]
    body = [[titles[r[0]], f"`{r[0]}`", *r[1:]] for r in body]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def summary_line(metrics: Metrics, out_dir: Path) -> str:
    """One line: headline numbers per model, where the report is, and the gate outcome."""
    parts = []
    for name, model in metrics["models"].items():
        parts.append(
            f"{name} frames macro-F1 {_num(value_at(model, 'frames.macro_f1'))}, "
            f"sentiment macro-F1 {_num(value_at(model, 'figures.sentiment.macro_f1'))}"
        )
    gates = metrics.get("fail_under") or []
    failed = metrics.get("failures") or []
    verdict = (
        f"; {len(failed)} of {len(gates)} gate(s) failed"
        if failed
        else (f"; {len(gates)} gate(s) passed" if gates else "")
    )
    return f"{'; '.join(parts)}; report {out_dir / 'report.md'}{verdict}"


# ------------------------------------------------------------------------------------- plots
def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)  # attach the Agg canvas explicitly: PNG output needs no GUI backend
    fig.savefig(path, dpi=110)
    return path


def safe_name(name: str) -> str:
    """A model name or tag usable in a file name (tags contain ':')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_per_label_f1(metrics: Metrics, path: Path) -> Path:
    """Grouped bars: F1 per frame plus macro and micro, one bar per model, CI error bars."""
    labels = frame_labels(metrics)
    paths = [f"frames.per_label.{n}.f1" for n in labels] + ["frames.macro_f1", "frames.micro_f1"]
    ticks = [*labels, "macro", "micro"]
    names = list(metrics["models"])
    width = 0.8 / max(len(names), 1)
    fig = Figure(figsize=(max(6.0, 1.3 * len(ticks)), 4.0), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(ticks))
    for k, name in enumerate(names):
        model = metrics["models"][name]
        values = np.array([np.nan if (v := value_at(model, p)) is None else v for p in paths])
        errors = np.zeros((2, len(paths)))
        for j, p in enumerate(paths):
            ci = ci_at(model, p)
            if ci is not None and not np.isnan(values[j]):
                # Percentile intervals need not be centred on the estimate: asymmetric bars.
                errors[:, j] = [max(values[j] - ci[0], 0.0), max(ci[1] - values[j], 0.0)]
        ax.bar(
            x + (k - (len(names) - 1) / 2) * width,
            values,
            width,
            yerr=errors,
            capsize=3,
            label=name,
        )
    ax.set_xticks(x, ticks, rotation=20, ha="right")
    ax.set_ylim(0, 1.2)  # headroom above 1 keeps the legend off the bars
    ax.set_ylabel("F1 (95 % bootstrap CI)")
    ax.set_title("Frames: F1 per label")
    ax.legend(loc="upper right", ncols=max(len(names), 1), fontsize=8)
    return _save(fig, path)


def plot_confusion(model: Metrics, name: str, path: Path) -> Path:
    """Sentiment confusion matrix on found figures (rows gold, columns predicted), with counts."""
    sentiment = model["figures"]["sentiment"]
    classes = sentiment["classes"]
    confusion = np.asarray(sentiment["confusion"], dtype=int).reshape(len(classes), len(classes))
    fig = Figure(figsize=(4.2, 3.8), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(confusion, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    peak = confusion.max() if confusion.size else 0
    for (i, j), count in np.ndenumerate(confusion):
        colour = "white" if peak and count > peak / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=colour)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{name}: figure sentiment")
    return _save(fig, path)


def plot_reliability(model: Metrics, name: str, path: Path) -> Path:
    """Reliability diagram per frame: fraction positive per probability bin vs the diagonal."""
    per_label = model["calibration"]["per_label"]
    fig = Figure(figsize=(3.6 * max(len(per_label), 1), 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(per_label), 1), sharey=True))
    for ax, (label, cal) in zip(axes, per_label.items(), strict=False):
        bins = [b for b in cal["bins"] if b["count"]]
        width = cal["bins"][0]["upper"] - cal["bins"][0]["lower"] if cal["bins"] else 0.1
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="calibrated")
        ax.bar(
            [b["lower"] for b in bins],
            [b["fraction_positive"] for b in bins],
            width,
            align="edge",
            alpha=0.6,
            edgecolor="black",
            label="fraction positive",
        )
        ax.plot(
            [b["mean_predicted"] for b in bins],
            [b["fraction_positive"] for b in bins],
            "o",
            color="C3",
            label="bin mean",
        )
        for b in bins:  # bin sizes: a wild bar over three paragraphs is not a wild model
            ax.annotate(str(b["count"]), (b["lower"] + width / 2, 0.02), ha="center", fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted probability")
        ax.set_title(f"{label}\nECE {_num(cal['ece'])}", fontsize=10)
    axes[0].set_ylabel("fraction annotated")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{name}: frame reliability", fontsize=11)
    return _save(fig, path)


# ------------------------------------------------------------------------------------ report
def _markdown(metrics: Metrics, plots: Mapping[str, Path]) -> str:
    """report.md: setup, headline table, plots, robustness, NewsMTSC, gates."""
    bs, cal = metrics["bootstrap"], metrics["calibration"]
    lines = [
        "# stanceframe evaluation",
        "",
        f"- created: {metrics['created_at']}",
        f"- data: {', '.join(f'`{d}`' for d in metrics['data'])}: {metrics['n_paragraphs']} "
        f"paragraphs, {metrics['n_frames_annotated']} with frame annotation",
        *(
            f"- model `{name}`: {m['model']['kind']} `{m['model']['version']}` "
            f"({m['predict_seconds']:.1f} s to predict)"
            for name, m in metrics["models"].items()
        ),
        f"- 95 % confidence intervals: percentile bootstrap over {bs['unit']}s, {bs['resamples']} "
        f"resamples, seed {bs['seed']} (the same resamples for every model)",
        f"- calibration: expected calibration error of the frame probabilities over "
        f"{cal['n_bins']} equal-width bins (positive-class probability vs annotated)",
        "- figures: detection counts a person as found when the predicted canonical name matches "
        "an annotated one; sentiment is scored on found people only",
        "",
        "## Headline metrics",
        "",
        markdown_table(metrics),
        "",
        "## Frames: F1 per label",
        "",
        f"![per-label F1]({plots['per_label_f1'].name})",
        "",
        "## Figure sentiment: confusion matrices",
        "",
        *(f"![{k}]({p.name})" for k, p in plots.items() if k.startswith("confusion_")),
        "",
        "## Calibration: reliability diagrams",
        "",
        *(f"![{k}]({p.name})" for k, p in plots.items() if k.startswith("reliability_")),
        "",
    ]
    if metrics.get("aligned_pairs"):
        lines += [
            "## Robustness on aligned pairs",
            "",
            f"{metrics['aligned_pairs']} pairs of records linked by `aligned_with` (two versions "
            "of one paragraph). Agreement of each model with itself across the two versions; "
            "see the `robustness.*` rows above.",
            "",
        ]
    if metrics.get("newsmtsc"):
        sizes = ", ".join(f"{s}: {n} sentences" for s, n in metrics["newsmtsc"].items())
        lines += [
            "## NewsMTSC",
            "",
            f"Target sentiment on the annotated mentions (no detection), F1m = macro-F1 over the "
            f"three classes ({sizes}); see the `newsmtsc.*` rows above.",
            "",
        ]
    if metrics.get("fail_under"):
        lines += ["## Gates", ""]
        lines += [f"- `{g['metric']}` >= {g['minimum']:g}" for g in metrics["fail_under"]]
        failures = metrics.get("failures") or []
        lines += ["", *(f"- FAILED {f}" for f in failures)] if failures else ["", "All passed."]
        lines.append("")
    return "\n".join(lines)


def write_report(metrics: Metrics, out_dir: Path) -> dict[str, Path]:
    """Write ``metrics.json``, the PNG plots and ``report.md`` into ``out_dir``; return paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"metrics": out_dir / "metrics.json"}
    written["metrics"].write_text(json.dumps(metrics, indent=2, allow_nan=False), encoding="utf-8")
    plots = {"per_label_f1": plot_per_label_f1(metrics, out_dir / "per_label_f1.png")}
    for name, model in metrics["models"].items():
        stem = safe_name(name)
        plots[f"confusion_{stem}"] = plot_confusion(model, name, out_dir / f"confusion_{stem}.png")
        plots[f"reliability_{stem}"] = plot_reliability(
            model, name, out_dir / f"reliability_{stem}.png"
        )
    written["report"] = out_dir / "report.md"
    written["report"].write_text(_markdown(metrics, plots), encoding="utf-8")
    return {**written, **plots}
