#!/usr/bin/env python3
"""Check a batch of newly written paragraphs before it joins the corpus, and fill in mention
offsets.

usage: python3 scripts/check_batch.py FILE.jsonl [--fix]

Each line: {"id", "story_id", "source", "genre", "text", "frames": [...],
            "figures": [{"name", "mention", "sentiment"}]}   (start/end optional; --fix computes
            them)
Prints every problem as FILE:LINE: message, then register statistics to compare with real reporting
(../shared/real-register-profile.md): words median, share of paragraphs with <= 2 sentences, share
with
an attribution verb, frame counts, named people per paragraph.
"""

import json
import re
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "labels/schema.yaml").read_text())
FRAMES = {f["name"] for f in SCHEMA["frames"]}
SENTS = set(SCHEMA["sentiments"])
SENT_SPLIT = re.compile(r"[.!?]['\"’”]?\s+(?=[A-Z'\"‘“])")
ATTRIB = re.compile(
    r"\b(said|says|told|according to|claimed|argued|insisted|warned|added|wrote|admitted)\b"
)


def find_mention(text: str, mention: str, after: int = 0) -> int:
    for m in re.finditer(re.escape(mention), text):
        s, e = m.start(), m.end()
        if s < after:
            continue
        if (s == 0 or not text[s - 1].isalnum()) and (e == len(text) or not text[e].isalnum()):
            return s
    return -1


def main() -> int:
    path = Path(sys.argv[1])
    fix = "--fix" in sys.argv
    problems, rows, ids = [], [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: invalid JSON: {e}")
            continue
        for k in ("id", "story_id", "source", "text", "frames", "figures"):
            if k not in r:
                problems.append(f"{path}:{n}: missing field {k}")
        if r.get("id") in ids:
            problems.append(f"{path}:{n}: duplicate id {r.get('id')}")
        ids.add(r.get("id"))
        for f in r.get("frames", []):
            if f not in FRAMES:
                problems.append(f"{path}:{n}: unknown frame {f}")
        text = r.get("text", "")
        for fig in r.get("figures", []):
            if fig.get("sentiment") not in SENTS:
                problems.append(f"{path}:{n}: bad sentiment {fig}")
            s = find_mention(text, fig.get("mention", "\0"))
            if s < 0:
                problems.append(
                    f"{path}:{n}: mention {fig.get('mention')!r} not found as whole words"
                )
            elif fix:
                fig["start"], fig["end"] = s, s + len(fig["mention"])
        rows.append(r)
    if fix and not problems:
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                for fig in r["figures"]:
                    fig.update(start=fig.pop("start"), end=fig.pop("end"))
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    for p in problems:
        print(p)
    if rows:
        words = [len(r["text"].split()) for r in rows]
        sents = [len(SENT_SPLIT.split(r["text"].strip())) for r in rows]
        n = len(rows)
        counts = {f: sum(f in r["frames"] for r in rows) for f in sorted(FRAMES)}
        print(
            f"{n} paragraphs; words median {statistics.median(words)}; "
            f"<=2 sentences {sum(s <= 2 for s in sents) / n:.0%}; "
            f"attribution verb {sum(bool(ATTRIB.search(r['text'])) for r in rows) / n:.0%}; "
            f"no frame {sum(not r['frames'] for r in rows) / n:.0%}; frames {counts}; "
            f"people/paragraph {sum(len(r['figures']) for r in rows) / n:.2f}"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
