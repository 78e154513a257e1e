#!/usr/bin/env python3
"""Build the held-out transfer set: blind annotation tasks, then adjudication by majority vote.

    python3 scripts/transfer_set.py tasks WRITER.jsonl... --out TASKS.jsonl
    python3 scripts/transfer_set.py adjudicate --writer W.jsonl... --a A.jsonl --b B.jsonl \\
        --out labels/corpus/transfer/transfer.jsonl --log ADJUDICATION.jsonl

``tasks`` strips every label from the writers' files: each task has the id, the text and the
named people (name and exact mention), which is all a blind annotator sees. ``adjudicate`` takes
three independent annotations of each paragraph (the writer's own and two blind annotators') and
keeps, for each frame and each person's sentiment, the label at least two of the three gave; when
all three differ on a sentiment, neutral. Every paragraph where the three were not unanimous is
logged with all three annotations. The output is frozen: its SHA-256 goes into labels/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path


def read(paths: list[str]) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for path in paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                sys.exit(f"{path}:{n}: invalid JSON: {exc}")
            if row["id"] in rows:
                sys.exit(f"{path}:{n}: duplicate id {row['id']}")
            rows[row["id"]] = row
    return rows


def tasks(args: argparse.Namespace) -> None:
    out = []
    for row in read(args.writer).values():
        people = [{"name": f["name"], "mention": f["mention"]} for f in row["figures"]]
        out.append({"id": row["id"], "text": row["text"], "people": people})
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))
    print(f"{len(out)} tasks -> {args.out}")


def majority(values: list[str], fallback: str) -> str:
    value, count = Counter(values).most_common(1)[0]
    return value if count >= 2 else fallback


def adjudicate(args: argparse.Namespace) -> None:
    writer, a, b = read(args.writer), read([args.a]), read([args.b])
    missing = [i for i in writer if i not in a or i not in b]
    if missing:
        sys.exit(f"{len(missing)} paragraph(s) lack a blind annotation, e.g. {missing[0]}")
    frames = sorted({f for r in (*writer.values(), *a.values(), *b.values()) for f in r["frames"]})
    out, log = [], []
    for pid, row in writer.items():
        votes = [row, a[pid], b[pid]]
        final = [f for f in frames if sum(f in v["frames"] for v in votes) >= 2]
        figures = []
        for fig in row["figures"]:
            sents = [
                next((g["sentiment"] for g in v["figures"] if g["name"] == fig["name"]), "neutral")
                for v in votes
            ]
            figures.append({**fig, "sentiment": majority(sents, "neutral")})
        unanimous = all(sorted(v["frames"]) == sorted(row["frames"]) for v in votes) and all(
            len({s}) == 1
            for s in [
                next((g["sentiment"] for g in v["figures"] if g["name"] == f["name"]), "neutral")
                for f in row["figures"]
                for v in votes
            ]
        )
        final_row = {**row, "frames": final, "figures": figures}
        out.append(final_row)
        if not unanimous:
            log.append(
                {
                    "id": pid,
                    "writer": {"frames": row["frames"], "figures": row["figures"]},
                    "a": {"frames": a[pid]["frames"], "figures": a[pid]["figures"]},
                    "b": {"frames": b[pid]["frames"], "figures": b[pid]["figures"]},
                    "final": {"frames": final, "figures": figures},
                }
            )
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    Path(args.log).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in log))
    digest = hashlib.sha256(text.encode()).hexdigest()
    print(f"{len(out)} paragraphs -> {args.out} ({len(log)} not unanimous); sha256 {digest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(required=True)
    t = sub.add_parser("tasks")
    t.add_argument("writer", nargs="+")
    t.add_argument("--out", required=True)
    t.set_defaults(func=tasks)
    j = sub.add_parser("adjudicate")
    j.add_argument("--writer", nargs="+", required=True)
    j.add_argument("--a", required=True)
    j.add_argument("--b", required=True)
    j.add_argument("--out", required=True)
    j.add_argument("--log", required=True)
    j.set_defaults(func=adjudicate)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
