#!/usr/bin/env bash
# Exports the model of a training run's current state (RUN_DIR/state.pt, e.g. while it trains) and
# measures its structure through the CLI, as the recipe comparison's phase rows were measured.
# Usage: models/tools/measure_state.sh RUN_DIR OUT_DIR   (after `npm run build`)
# Writes OUT_DIR-hf (checkpoint), OUT_DIR (ONNX model), OUT_DIR.md and OUT_DIR.json (measure_structure.cjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
run=$1
out=$2
rm -rf "$out" "$out-hf"
/usr/bin/python3 - "$run" "$out-hf" <<'PY'
import os
import sys

import torch

sys.path.insert(0, 'models/tools')
import train  # noqa: E402
from roberta import Config  # noqa: E402

run, out = sys.argv[1], sys.argv[2]
saved = torch.load(os.path.join(run, 'state.pt'), map_location='cpu')
config = Config.load('models/code-attention-mini')
train.save_checkpoint(saved['model'], config, 'models/_work/tokenizer', out,
                      {'steps': saved['step'], 'cpu_minutes': saved['cpu_seconds'] / 60, 'phases': saved.get('phases')})
print(f"step {saved['step']}, {saved['cpu_seconds'] / 60:.1f} CPU minutes")
PY
/usr/bin/python3 models/export_onnx.py "$out-hf" "$out" --skip-check --threads 1 > /dev/null
node models/tools/measure_structure.cjs "$out" --heldout models/_work/heldout-snippets --json "$out.json" > "$out.md"
grep -E '^\| (previousToken|matchingBracket|closerToOpener|openerToCloser) ' "$out.md" | head -4
