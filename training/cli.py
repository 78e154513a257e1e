"""``stanceframe`` command line: thin typed entry points over the library functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from serving.figures import load_registry
from serving.schema import load_schema
from serving.text import MAX_PARAGRAPH_CHARS

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Stance and framing classifier.")
data_app = typer.Typer(no_args_is_help=True, help="Annotated data: validate, stats, import/export.")
app.add_typer(data_app, name="data")

LabelsOpt = Annotated[
    Path | None, typer.Option(help="Labels directory (schema.yaml, figures.yaml). Default: labels/")
]


def _schema_and_registry(labels: Path | None):
    return (
        load_schema(labels / "schema.yaml" if labels else None),
        load_registry(labels / "figures.yaml" if labels else None),
    )


def _corpus_paths(paths: list[Path] | None) -> list[Path]:
    from training.data.corpus import default_corpus_paths

    return list(paths) if paths else default_corpus_paths()


@data_app.command("validate")
def data_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="JSONL files or folders.")] = None,
    labels: LabelsOpt = None,
) -> None:
    """Check annotated files; report every problem with file and line. Exit 1 on errors."""
    from training.data.corpus import read_corpus

    schema, registry = _schema_and_registry(labels)
    paragraphs, problems = read_corpus(_corpus_paths(paths), schema, registry)
    for p in problems:
        typer.echo(str(p), err=True)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    typer.echo(f"{len(paragraphs)} valid paragraphs, {errors} errors, {warnings} warnings")
    raise typer.Exit(1 if errors else 0)


@data_app.command("stats")
def data_stats(
    paths: Annotated[list[Path] | None, typer.Argument(help="JSONL files or folders.")] = None,
    labels: LabelsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Coverage of an annotated corpus: frames, sentiments, sources, figures, stories."""
    from training.data.corpus import corpus_stats, load_corpus

    schema, _ = _schema_and_registry(labels)
    stats = corpus_stats(load_corpus(_corpus_paths(paths), schema), schema)
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    typer.echo(_format_stats(stats))


def _format_stats(s: dict) -> str:
    lines = [
        f"paragraphs        {s['paragraphs']}  in {s['stories']} stories "
        f"(size {s['story_size']['min']}-{s['story_size']['max']})",
        "words/paragraph   min {min}  mean {mean}  max {max}".format(**s["words"]),
        "frames:",
        *(f"  {k:<22}{v}" for k, v in s["frames"].items()),
        f"  {'(none)':<22}{s['no_frame']}",
        f"  {'(two or more)':<22}{s['multi_frame']}",
        f"figure-sentiment pairs {s['figure_pairs']}  distinct figures {s['distinct_figures']}",
        *(
            f"  {k:<22}{v['count']:>6}  {100 * v['share']:.1f} %"
            for k, v in s["sentiments"].items()
        ),
        "sources:",
        *(f"  {k:<40}{v}" for k, v in s["sources"].items()),
        "genres:",
        *(f"  {k:<22}{v}" for k, v in s["genres"].items()),
        "top figures:",
        *(f"  {name:<28}{n}" for name, n in s["top_figures"]),
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ Label Studio / doccano
def _report(problems: list, n: int, out: Path) -> None:
    """Print problems to stderr and a one-line summary; exit 1 when any is an error."""
    for p in problems:
        typer.echo(str(p), err=True)
    errors = sum(p.severity == "error" for p in problems)
    typer.echo(
        f"{n} paragraphs written to {out}, {errors} errors, {len(problems) - errors} warnings"
    )
    raise typer.Exit(1 if errors else 0)


def _predict(model: str, texts: list[str], evidence: bool = False) -> list[dict]:
    """Predictions from ``serving.predictors`` as dicts (imported lazily: optional dependency)."""
    try:
        from serving.predictors.factory import load_predictor
    except ImportError as exc:
        typer.echo(f"--model needs serving.predictors, which cannot be imported: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        predictor = load_predictor(model)
        preds = [p.to_dict() for p in predictor.predict(texts, evidence=evidence)]
    except (LookupError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: cannot predict with model '{model}': {exc}", err=True)
        raise typer.Exit(1) from exc
    for p in preds:
        p.setdefault("model_version", model)
    return preds


@data_app.command("export-labelstudio")
def data_export_labelstudio(
    out: Annotated[Path, typer.Option(help="Label Studio tasks JSON to write.")],
    paths: Annotated[list[Path] | None, typer.Argument(help="JSONL files or folders.")] = None,
    config_out: Annotated[
        Path | None, typer.Option(help="Labelling config XML. Default: --out with .xml suffix.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model kind or name: attach its predictions.")
    ] = None,
    with_labels: Annotated[
        bool,
        typer.Option(help="Existing labels as completed annotations (import gives them back)."),
    ] = True,
    evidence: Annotated[
        bool,
        typer.Option(help="With --model: highlight the sentences carrying each predicted frame."),
    ] = False,
    labels: LabelsOpt = None,
) -> None:
    """Write corpus paragraphs as Label Studio tasks plus the matching labelling config."""
    from training.data.corpus import CorpusError, load_corpus
    from training.data.labelstudio import export_labelstudio, labelstudio_config

    schema, _ = _schema_and_registry(labels)
    try:
        paragraphs = load_corpus(_corpus_paths(paths), schema)
    except CorpusError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    preds = _predict(model, [p.text for p in paragraphs], evidence) if model else None
    try:
        tasks = export_labelstudio(paragraphs, schema, preds, with_labels=with_labels)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    config_out = config_out or out.with_suffix(".xml")
    config_out.write_text(labelstudio_config(schema), encoding="utf-8")
    typer.echo(f"{len(tasks)} tasks written to {out}, labelling config to {config_out}")


@data_app.command("export-hf")
def data_export_hf(
    out: Annotated[Path, typer.Argument(help="Folder to write (datasets save_to_disk + card).")],
    config: Annotated[
        Path, typer.Option(help="Training config whose data settings define the splits.")
    ] = Path("training/configs/transformer.yaml"),
) -> None:
    """Write the corpus as a typed Hugging Face DatasetDict (train/validation by story, gold,
    transfer) with a dataset card."""
    from training.data.corpus import CorpusError
    from training.data.hf import export_hf
    from training.data.splits import grouped_split
    from training.fit.config import load_config
    from training.fit.info import load_training_data

    cfg = load_config(config)
    try:
        data = load_training_data(cfg)
    except (CorpusError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    train, dev = grouped_split(data.paragraphs, cfg.data.dev_fraction, cfg.seed, data.dev_stories)
    sizes = export_hf(
        {"train": train, "validation": dev, "gold": data.gold, "transfer": data.transfer},
        data.schema,
        out,
    )
    typer.echo(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in sizes.items()))


@data_app.command("teacher-targets")
def data_teacher_targets(
    model: Annotated[str, typer.Option(help="Stored teacher model: name or name:version.")],
    out: Annotated[Path, typer.Option(help="JSON file to write (data.teacher_targets).")],
    config: Annotated[
        Path, typer.Option(help="Training config whose data.train the teacher scores.")
    ] = Path("training/configs/transformer.yaml"),
    backend: Annotated[
        str, typer.Option(help="Teacher backend (see `label --backend`).")
    ] = "torch",
) -> None:
    """Score the training paragraphs with a teacher model, for distillation
    (``data.teacher_targets``; see training/fit/distill.py)."""
    from serving.predictors.factory import load_predictor
    from training.data.corpus import CorpusError
    from training.fit.config import load_config
    from training.fit.distill import teacher_targets, write_targets
    from training.fit.info import load_training_data

    try:
        data = load_training_data(load_config(config))
        teacher = load_predictor(model, backend=backend)
    except (CorpusError, LookupError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    report = teacher_targets(teacher, data.paragraphs)
    write_targets(report, out)
    typer.echo(f"wrote {out}: {len(report['targets'])} paragraphs scored by {teacher.version}")


@data_app.command("import-labelstudio")
def data_import_labelstudio(
    export: Annotated[Path, typer.Argument(help="Label Studio JSON export.")],
    out: Annotated[Path, typer.Option(help="Annotated JSONL to write.")],
    source: Annotated[
        str, typer.Option(help="Source for tasks whose data has none.")
    ] = "labelstudio",
    labels: LabelsOpt = None,
) -> None:
    """Convert a Label Studio JSON export to corpus JSONL. Exit 1 on errors."""
    from training.data.labelstudio import import_labelstudio, write_paragraphs

    schema, registry = _schema_and_registry(labels)
    paragraphs, problems = import_labelstudio(export, schema, registry, source)
    _report(problems, write_paragraphs(paragraphs, out), out)


@data_app.command("import-doccano")
def data_import_doccano(
    path: Annotated[Path, typer.Argument(help="doccano JSONL export.")],
    out: Annotated[Path, typer.Option(help="Annotated JSONL to write.")],
    source: Annotated[str, typer.Option(help="Source for lines that carry none.")] = "doccano",
    labels: LabelsOpt = None,
) -> None:
    """Convert a doccano JSONL export to corpus JSONL. Exit 1 on errors."""
    from training.data.doccano import import_doccano
    from training.data.labelstudio import write_paragraphs

    schema, registry = _schema_and_registry(labels)
    paragraphs, problems = import_doccano(path, schema, registry, source)
    _report(problems, write_paragraphs(paragraphs, out), out)


@data_app.command("agreement")
def data_agreement(
    first: Annotated[list[Path], typer.Option(help="First annotation: files or folders.")],
    second: Annotated[list[Path], typer.Option(help="Second annotation of some of the same ids.")],
    labels: LabelsOpt = None,
    out: Annotated[Path | None, typer.Option(help="Write the result as JSON here.")] = None,
) -> None:
    """Cohen's kappa per frame and for figure sentiment between two annotations."""
    from training.data.agreement import agreement, read_labels

    schema, _ = _schema_and_registry(labels)
    result = agreement(read_labels(first), read_labels(second), schema)
    for name, r in result["frames"].items():
        typer.echo(f"{name:<22} kappa {_fmt(r['kappa'])}  agreement {_fmt(r['agreement'])}")
    r = result["sentiment"]
    typer.echo(
        f"{'figure sentiment':<22} kappa {_fmt(r['kappa'])}  agreement "
        f"{_fmt(r['agreement'])}  ({r['pairs']} pairs)"
    )
    typer.echo(f"{result['paragraphs']} paragraphs annotated twice")
    if out:
        out.write_text(json.dumps(result, indent=2), encoding="utf-8")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@app.command("train")
def train_cmd(
    config: Annotated[Path, typer.Option(help="Training config YAML (training/configs/*.yaml).")],
    cv: Annotated[int | None, typer.Option(help="Grouped K-fold CV instead of training.")] = None,
    newsmtsc: Annotated[
        Path | None, typer.Option(help="NewsMTSC folder or train file (extra sentiment data).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config value: key.sub=value")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the metrics JSON here.")] = None,
    extra: Annotated[
        list[Path] | None,
        typer.Option(
            help="More training data: a Label Studio export (.json) or annotated JSONL; repeat."
        ),
    ] = None,
) -> None:
    """Train a model from a config into the BentoML model store (or cross-validate with --cv)."""
    import yaml

    from training.evaluation.scoring import headline
    from training.fit.config import load_config
    from training.fit.recipe import cross_validate, train

    bad = [kv for kv in set_ or [] if "=" not in kv]
    if bad:
        raise typer.BadParameter(f"--set takes key.sub=value, got {bad[0]!r}")
    overrides = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in set_ or [])}
    if newsmtsc:
        overrides["data.newsmtsc"] = str(newsmtsc)
    cfg = load_config(config, overrides)
    if extra:
        cfg.data.train = [*cfg.data.train, *_extra_training_files(extra, cfg.data.labels_dir)]
    if cv:
        summary = cross_validate(cfg, cv)
        report = summary
        typer.echo(
            f"{cfg.kind} grouped {cv}-fold CV: frames macro-F1 "
            f"{_fmt(summary['frames_macro_f1']['mean'])} ± "
            f"{_fmt(summary['frames_macro_f1']['std'])}, figure-sentiment macro-F1 "
            f"{_fmt(summary['sentiment_macro_f1']['mean'])} ± "
            f"{_fmt(summary['sentiment_macro_f1']['std'])}"
        )
    else:
        result = train(cfg)
        report = {
            "tag": result.tag,
            "seconds": result.seconds,
            "dev": result.dev_metrics,
            "gold": result.gold_metrics,
            "transfer": result.transfer_metrics,
        }
        dev = headline(result.dev_metrics)
        gold = headline(result.gold_metrics) if result.gold_metrics else {}
        transfer = headline(result.transfer_metrics) if result.transfer_metrics else {}
        typer.echo(
            f"saved {result.tag} in {result.seconds:.0f}s; dev frames macro-F1 "
            f"{_fmt(dev['frames_macro_f1'])}, sentiment macro-F1 {_fmt(dev['sentiment_macro_f1'])}"
            f"; gold frames {_fmt(gold.get('frames_macro_f1'))}, "
            f"sentiment {_fmt(gold.get('sentiment_macro_f1'))}"
            f"; transfer frames {_fmt(transfer.get('frames_macro_f1'))}, "
            f"sentiment {_fmt(transfer.get('sentiment_macro_f1'))}"
        )
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


def _extra_training_files(extra: list[Path], labels_dir: str | None) -> list[str]:
    """Label Studio exports become corpus JSONL in a temporary folder (records with errors are
    reported and left out); annotated JSONL passes through unchanged."""
    import tempfile

    from training.data.labelstudio import import_labelstudio, write_paragraphs

    schema, registry = _schema_and_registry(Path(labels_dir) if labels_dir else None)
    folder = Path(tempfile.mkdtemp(prefix="stanceframe-extra-"))
    files = []
    for i, path in enumerate(extra):
        if path.suffix.lower() != ".json":
            files.append(str(path))
            continue
        paragraphs, problems = import_labelstudio(path, schema, registry)
        for p in problems:
            if p.severity == "error":
                typer.echo(f"{p.path}:{p.line}: {p.message}", err=True)
        target = folder / f"extra-{i}.jsonl"
        write_paragraphs(paragraphs, target)
        files.append(str(target))
    return files


@app.command("evaluate")
def evaluate_cmd(
    data: Annotated[
        list[Path],
        typer.Option(help="Annotated JSONL file/folder or Label Studio export (.json); repeat."),
    ],
    model: Annotated[
        str, typer.Option(help="transformer, baseline, both, or a stored model name/tag.")
    ] = "transformer",
    out: Annotated[
        Path | None, typer.Option(help="Report folder. Default: runs/eval/<timestamp>.")
    ] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(help="Gate METRIC=VALUE (e.g. frames.macro_f1=0.5); exit 1 if under."),
    ] = None,
    newsmtsc: Annotated[
        Path | None, typer.Option(help="NewsMTSC folder: also report test_rw/test_mt F1m.")
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for 95 % CIs.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    backend: Annotated[
        str,
        typer.Option(help="Transformer backend: torch, torch-bf16, onnx (fp32), onnx-int8, auto."),
    ] = "torch",
) -> None:
    """Evaluate stored model(s) on annotated data: table, metrics.json, report.md with plots.

    Exit 0 when all --fail-under gates pass, 1 when one fails, 2 on bad input.
    """
    from training.data.corpus import CorpusError
    from training.evaluation.run import run_evaluation

    try:
        run = run_evaluation(
            data, model, out, fail_under or [], newsmtsc, bootstrap, seed, backend=backend
        )
    except (CorpusError, LookupError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(run.table)
    typer.echo(run.summary)
    for failure in run.failures:
        typer.echo(f"FAIL {failure}", err=True)
    raise typer.Exit(1 if run.failures else 0)


@app.command("up")
def up_cmd(
    port: Annotated[int, typer.Option(help="Port on localhost.")] = 3000,
    newsmtsc: Annotated[
        Path | None, typer.Option(help="NewsMTSC folder: extra sentiment data on first training.")
    ] = None,
    once: Annotated[bool, typer.Option(help="Exit after the sample request.")] = False,
    train_only: Annotated[bool, typer.Option(help="Train what is missing, do not serve.")] = False,
) -> None:
    """Main job: train on first use (stored models are reused), then serve with a sample request."""
    from training.up import ensure_models, serve

    status = ensure_models(str(newsmtsc) if newsmtsc else None, echo=typer.echo)
    typer.echo("models: " + ", ".join(f"{k} {v}" for k, v in status.items()))
    if not train_only:
        raise typer.Exit(serve(port, once=once, echo=typer.echo))


@app.command("label")
def label_cmd(
    inputs: Annotated[
        list[Path], typer.Argument(help="JSONL, CSV, Parquet or .txt files, or folders of them.")
    ],
    out: Annotated[Path, typer.Option(help="Output file: .jsonl or .parquet (or use --format).")],
    model: Annotated[
        str, typer.Option(help="auto (transformer, baseline as fallback), transformer, baseline.")
    ] = "auto",
    engine: Annotated[str, typer.Option(help="local, or ray (an actor pool).")] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Existing Ray cluster; default: start a local one.")
    ] = None,
    text_field: Annotated[str, typer.Option(help="Text field or column.")] = "text",
    id_field: Annotated[str, typer.Option(help="Id field or column.")] = "id",
    doc_field: Annotated[
        str,
        typer.Option(
            help="Document id field or column: consecutive rows sharing it are one article, "
            "so later paragraphs resolve people named earlier (a .txt file is one article)."
        ),
    ] = "doc_id",
    batch_size: Annotated[int, typer.Option(help="Paragraphs per forward pass.")] = 32,
    chunk_size: Annotated[
        int, typer.Option(help="Rows per committed chunk and per length-sorting window.")
    ] = 2048,
    max_chars: Annotated[
        int, typer.Option(help="Longer texts are reported as bad rows.")
    ] = MAX_PARAGRAPH_CHARS,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Discard an existing output or run.")] = False,
    backend: Annotated[
        str,
        typer.Option(help="Transformer backend: auto, torch, torch-bf16, onnx (fp32), onnx-int8."),
    ] = "auto",
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or parquet (default: from --out).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    evidence: Annotated[
        bool,
        typer.Option(
            help="Add the sentences carrying each present frame and each figure (slower)."
        ),
    ] = False,
) -> None:
    """Label paragraphs at corpus scale; crash-safe and resumable (see training/batch/driver.py)."""
    from training.batch.driver import label_corpus
    from training.batch.readers import LabelError, LabelOptions

    options = LabelOptions(
        model=model,
        engine=engine,
        ray_address=ray_address,
        text_field=text_field,
        id_field=id_field,
        doc_field=doc_field,
        batch_size=batch_size,
        chunk_size=chunk_size,
        max_chars=max_chars,
        resume=resume,
        overwrite=overwrite,
        backend=backend,
        format=fmt,
        progress=progress,
        evidence=evidence,
    )
    try:
        summary = label_corpus(inputs, out, options)
    except (LabelError, LookupError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except OSError as exc:  # disk full, read-only output: one line; committed parts stay
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(
            f"error: {where}{exc.strerror or exc}; nothing committed is lost, fix it and rerun "
            "with --resume",
            err=True,
        )
        raise typer.Exit(1) from exc
    typer.echo(summary.line())


@app.command("suggest")
def suggest_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders, as `label` reads.")],
    out: Annotated[Path, typer.Option(help="Label Studio tasks JSON to write.")],
    n: Annotated[int, typer.Option("--n", help="How many paragraphs to suggest.")] = 100,
    model: Annotated[str, typer.Option(help="Model whose predictions go with the tasks.")] = (
        "transformer"
    ),
    second_model: Annotated[
        str, typer.Option(help="Second opinion for the disagreement term.")
    ] = "baseline",
    max_similarity: Annotated[
        float, typer.Option(help="Skip paragraphs this similar (TF-IDF cosine) to a pick.")
    ] = 0.8,
    text_field: Annotated[str, typer.Option(help="Text field or column.")] = "text",
    id_field: Annotated[str, typer.Option(help="Id field or column.")] = "id",
) -> None:
    """Rank unlabelled paragraphs by what an annotation would teach; write the top N as tasks."""
    from training.batch.readers import LabelError, LabelOptions
    from training.batch.suggest import suggest, write_tasks

    options = LabelOptions(text_field=text_field, id_field=id_field, progress=False)
    try:
        picks, bad, schema = suggest(inputs, n, model, second_model, max_similarity, options)
    except (LabelError, LookupError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    written = write_tasks(picks, schema, out)
    typer.echo(f"suggested {written} paragraphs ({bad} unreadable rows skipped) -> {out}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
