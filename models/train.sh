#!/usr/bin/env bash
# Trains the bundled miniature CodeBERT from scratch and exports both checkpoints.
# Usage: models/train.sh [MINUTES]   (default 62; needs Debian's python3-torch, python3-onnx,
# python3-regex, libopenblas0-pthread and the source packages listed in models/tools/corpus.py)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-62}"
py=/usr/bin/python3
work=models/_work
$py models/tools/corpus.py "$work/corpus"
$py models/tools/bpe.py "$work/corpus" "$work/tokenizer"
$py models/tools/train.py "$work/corpus" "$work/tokenizer" "$work/run" --minutes "$minutes"
$py models/export_onnx.py "$work/run/final" models/code-attention-mini --checkpoint-kind final \
  --display-name "Code Attention mini (final)" --parity-fixture test/fixtures/model/onnx-parity.json
$py models/export_onnx.py "$work/run/early" models/code-attention-mini-early --checkpoint-kind early \
  --display-name "Code Attention mini (early checkpoint)"
$py models/tools/make_fixtures.py "$work/corpus" "$work/tokenizer" test/fixtures/model/tokenizer-parity.json
$py models/tools/loss_curve.py "$work/run/loss.csv" models/code-attention-mini/loss.csv > "$work/loss-final.md"
early_steps=$($py -c "import json; print(json.load(open('$work/run/early/training.json'))['steps'])")
$py models/tools/loss_curve.py "$work/run/loss.csv" "$work/loss-early.csv" --until-step "$early_steps" > "$work/loss-early.md"
# Model cards: attention structure over examples/ through the CLI (needs `npm run build`), forward times.
node models/tools/measure_structure.cjs models/code-attention-mini > "$work/structure-final.md"
node models/tools/measure_structure.cjs models/code-attention-mini-early > "$work/structure-early.md"
{ echo '```'; node models/tools/bench_forward.cjs models/code-attention-mini 128,256,512; echo '```'; } > "$work/speed.md"
$py models/tools/write_card.py models/code-attention-mini "$work/structure-final.md" --loss-md "$work/loss-final.md" --forward-md "$work/speed.md"
$py models/tools/write_card.py models/code-attention-mini-early "$work/structure-early.md" --loss-md "$work/loss-early.md"
