#!/usr/bin/env bash
# The model study as run for the README (2-core dev machine, nothing else running; about 70 min).
# Resumes from runs/model_study.json. Run from the repo root: bash benchmarks/run_study.sh
set -euo pipefail
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false BENTOML_HOME="$PWD/.bentoml"
PY=.venv/bin/python
T=training/configs/transformer.yaml
W=labels/corpus/written
$PY benchmarks/model_study.py --seeds 13 14 15 --variant "shipped=$T" --out runs/model_study.json
$PY benchmarks/model_study.py --seeds 13 --variant "baseline=training/configs/baseline.yaml" --out runs/model_study.json
$PY benchmarks/model_study.py --seeds 13 --variant "no-swap=$T;data.name_swap=0" --out runs/model_study.json
$PY benchmarks/model_study.py --seeds 13 --variant "round1-data=$T;data.train=[$W/batch_w1.jsonl,$W/batch_w2.jsonl,$W/batch_w3.jsonl,$W/batch_w4.jsonl,$W/batch_w5.jsonl,$W/batch_w6.jsonl];data.name_swap=0;data.dev_pool=[]" --out runs/model_study.json
