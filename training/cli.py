"""``stanceframe`` command line: thin typed entry points over the library functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from serving.figures import load_registry
from serving.schema import load_schema

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
    from training.corpus import default_corpus_paths

    return list(paths) if paths else default_corpus_paths()


@data_app.command("validate")
def data_validate(
    paths: Annotated[list[Path] | None, typer.Argument(help="JSONL files or folders.")] = None,
    labels: LabelsOpt = None,
) -> None:
    """Check annotated files; report every problem with file and line. Exit 1 on errors."""
    from training.corpus import read_corpus

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
    from training.corpus import corpus_stats, load_corpus

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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
