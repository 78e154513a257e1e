"""How good and how costly is frame evidence? Both methods, against two annotators' sentences.

    BENTOML_HOME=.bentoml python benchmarks/evidence.py --out runs/evidence.json

Quality: for every frame-positive paragraph of the seed gold and the transfer set
(``labels/agreement/evidence/tasks.jsonl``), two annotators marked, blind, the sentence(s) that
carry each gold frame. For each method the model ranks the sentences for each gold frame (as if
the frame were present, so the ranking is judged apart from frame detection); a hit is a top
sentence that an annotator marked (``either``) or that both marked (``both``). Paragraphs of one
sentence are trivially right, so the multi-sentence ones are reported on their own. Set precision
and recall compare the full evidence list with the annotators' union where the model itself finds
the frame present. Agreement: Cohen's kappa over (paragraph, frame, sentence) decisions.

Cost: paragraphs per second of ``predict`` with evidence off and on, per method, on corpus
paragraphs (the same texts, one process, one after the other).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from serving.evidence import METHODS
from serving.predictors.factory import load_predictor

REPO = Path(__file__).resolve().parents[1]
EVIDENCE = REPO / "labels" / "agreement" / "evidence"


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def machine() -> str:
    """CPU model and core count (the README names the machine each number ran on)."""
    import os

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def kappa(a: list[bool], b: list[bool]) -> float:
    po = float(np.mean([x == y for x, y in zip(a, b, strict=True)]))
    pa, pb = float(np.mean(a)), float(np.mean(b))
    pe = pa * pb + (1 - pa) * (1 - pb)
    return (po - pe) / (1 - pe)


def agreement(tasks, ann_a, ann_b) -> dict:
    a_flags, b_flags, exact, entries = [], [], 0, 0
    for t in tasks:
        if len(t["sentences"]) < 2:
            continue
        for frame in t["frames"]:
            sa, sb = set(ann_a[t["id"]][frame]), set(ann_b[t["id"]][frame])
            entries += 1
            exact += sa == sb
            for i in range(len(t["sentences"])):
                a_flags.append(i in sa)
                b_flags.append(i in sb)
    return {
        "multi_sentence_frame_entries": entries,
        "sentence_decisions": len(a_flags),
        "kappa": round(kappa(a_flags, b_flags), 3),
        "same_sentence_set": exact,
    }


def quality(predictor, tasks, ann_a, ann_b, method: str) -> dict:
    texts = [t["text"] for t in tasks]
    names = predictor.schema.frame_names
    real = predictor.predict(texts, evidence=True, evidence_method=method)
    saved = predictor.thresholds
    predictor.thresholds = np.zeros_like(saved)  # every frame "present": rank all sentences
    try:
        forced = predictor.predict(texts, evidence=True, evidence_method=method)
    finally:
        predictor.thresholds = saved
    out = {"all": _counter(), "multi_sentence": _counter()}
    lead = chance = 0.0  # reference points: always the first sentence; a sentence at random
    tp = fp = fn = 0
    for t, res, res_real in zip(tasks, forced, real, strict=True):
        spans = [tuple(s) for s in t["spans"]]
        for frame in t["frames"]:
            either = set(ann_a[t["id"]][frame]) | set(ann_b[t["id"]][frame])
            both = set(ann_a[t["id"]][frame]) & set(ann_b[t["id"]][frame])
            top = spans.index(_first_span(res, names.index(frame)))
            groups = ["all"] + (["multi_sentence"] if len(spans) > 1 else [])
            if len(spans) > 1:
                lead += 0 in either
                chance += len(either) / len(spans)
            for g in groups:
                out[g]["n"] += 1
                out[g]["hit_either"] += top in either
                out[g]["hit_both"] += top in both
            f_real = res_real.frames[names.index(frame)]
            if f_real.present and len(spans) > 1:
                chosen = {spans.index((e.start, e.end)) for e in f_real.evidence}
                tp += len(chosen & either)
                fp += len(chosen - either)
                fn += len(either - chosen)
    for g in out.values():
        g["top_in_either"] = round(g["hit_either"] / max(1, g["n"]), 3)
        g["top_in_both"] = round(g["hit_both"] / max(1, g["n"]), 3)
    multi = max(1, out["multi_sentence"]["n"])
    out["multi_sentence"]["first_sentence_in_either"] = round(lead / multi, 3)
    out["multi_sentence"]["random_sentence_in_either"] = round(chance / multi, 3)
    out["set_when_present"] = {
        "precision": round(tp / max(1, tp + fp), 3),
        "recall": round(tp / max(1, tp + fn), 3),
    }
    return out


def _counter() -> dict:
    return {"n": 0, "hit_either": 0, "hit_both": 0}


def _first_span(result, k: int) -> tuple[int, int]:
    ev = result.frames[k].evidence
    return (ev[0].start, ev[0].end)


def cost(predictor, texts: list[str], repeats: int) -> dict:
    out = {}
    predictor.predict(texts[:16])  # warm-up
    for label, kwargs in [("off", {})] + [
        (m, {"evidence": True, "evidence_method": m}) for m in METHODS
    ]:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            predictor.predict(texts, **kwargs)
            best = min(best, time.perf_counter() - started)
        out[label] = round(len(texts) / best, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="transformer")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--cost-n", type=int, default=512, help="corpus paragraphs timed")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="runs/evidence.json")
    args = parser.parse_args()

    tasks = read(EVIDENCE / "tasks.jsonl")
    texts = {}
    for path in [
        REPO / "labels/corpus/seeds.jsonl",
        REPO / "labels/corpus/transfer/transfer.jsonl",
    ]:
        texts.update({r["id"]: r["text"] for r in read(path)})
    for t in tasks:
        t["text"] = texts[t["id"]]
    ann_a = {r["id"]: r["evidence"] for r in read(EVIDENCE / "annotator_a.jsonl")}
    ann_b = {r["id"]: r["evidence"] for r in read(EVIDENCE / "annotator_b.jsonl")}
    predictor = load_predictor(args.model, backend=args.backend)
    corpus = [
        r["text"]
        for p in sorted((REPO / "labels/corpus/written").glob("v2*.jsonl"))
        for r in read(p)
    ][: args.cost_n]
    report = {
        "model": predictor.version,
        "backend": args.backend,
        "machine": machine(),
        "agreement": agreement(tasks, ann_a, ann_b),
        "quality": {m: quality(predictor, tasks, ann_a, ann_b, m) for m in METHODS},
        "paragraphs_per_s": cost(predictor, corpus, args.repeats),
        "cost_n": len(corpus),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    q = report["quality"]
    print(
        f"kappa {report['agreement']['kappa']}; top sentence marked (multi-sentence, either): "
        + ", ".join(f"{m} {q[m]['multi_sentence']['top_in_either']}" for m in METHODS)
        + f"; paragraphs/s {report['paragraphs_per_s']}"
    )


if __name__ == "__main__":
    main()
