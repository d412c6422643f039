#!/usr/bin/env bash
# Trains the bundled miniature CodeBERT (resuming from models/_work/run/state.pt when it exists)
# and exports both checkpoints, fixtures and model cards.
#
# Usage: models/train.sh [CPU_MINUTES] [--recipe R] [--device cpu|cuda] [--threads N]
#        models/train.sh --export-only [--out-root DIR]
#        models/train.sh --decoder [CPU_MINUTES] [--export-only] [--out-root DIR] [--lr LR] [--device D] [--threads N]
#   --decoder    the bundled tiny Llama decoder instead (models/tools/train_decoder.py, resuming from
#                models/_work/decoder-run/state.pt; default budget 22 CPU minutes), converted by
#                `code-attention convert` (needs `npm run build`) into code-attention-mini-decoder{,-early}.
#   CPU_MINUTES  training budget in CPU minutes of the training process, summed over resumed
#                stretches (default 600); the learning-rate schedule runs over this budget, so
#                resume with the same number.
#   --switch-recipe  resume a state of another recipe under --recipe (a new phase; see train.py).
#   --init-from DIR [--init-early-from DIR]  a new run (no state.pt yet) from the weights of an exported
#                model folder, e.g. models/code-attention-mini (a warm start: see train.py), keeping DIR's
#                counters, phases and loss curve; --lr sets the new phase's peak learning rate.
#   --threads N  torch CPU threads (default 1: the most training per CPU second on a shared machine).
#   --export-only  no training: export the current state (final = latest, early = the snapshot at
#                about a tenth of its CPU time), measure it and write the cards.
#   --out-root DIR  write the two model folders under DIR instead of models/ (the test fixtures
#                are then written under DIR too, and test/fixtures is left alone).
# Needs Debian's python3-torch, python3-onnx, python3-regex, libopenblas0-pthread, the source
# packages listed in models/tools/corpus.py, and `npm run pretest` (the build for the structure
# measurements, out/ for models/tools/leaf_text.cjs).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=
export_only=0
decoder=0
out_root=models
train_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --export-only) export_only=1 ;;
    --decoder) decoder=1 ;;
    --out-root) out_root="$2"; shift ;;
    --recipe|--device|--threads|--lr|--init-from|--init-early-from|--head-steps|--ramp-steps) train_args+=("$1" "$2"); shift ;;
    --switch-recipe) train_args+=("$1") ;;
    [0-9]*) minutes="$1" ;;
    *) echo "unknown argument: $1 (see the usage at the top of models/train.sh)" >&2; exit 2 ;;
  esac
  shift
done
py=/usr/bin/python3
work=models/_work
run="$work/run"
if [ ! -s "$work/corpus/train.jsonl" ]; then
  $py models/tools/corpus.py "$work/corpus"
fi
# The files as the product feeds an encoder (code tokens joined by spaces), for the packed-wwm-mixed
# recipe and the held-out evaluation on that text. Needs out/ (`npm run pretest`).
for split in train heldout; do
  if [ ! -s "$work/corpus/$split-leaves.jsonl" ]; then
    node models/tools/leaf_text.cjs "$work/corpus/$split.jsonl" "$work/corpus/$split-leaves.jsonl"
  fi
done
# The tokenizer is the bundled one, not retrained: the tokenizer fixtures and every exported
# model share it. (models/tools/bpe.py CORPUS OUT trains a new one if ever needed.)
if [ ! -s "$work/tokenizer/merges.txt" ]; then
  mkdir -p "$work/tokenizer"
  for name in vocab.json merges.txt tokenizer.json tokenizer_config.json; do
    cp "models/code-attention-mini/$name" "$work/tokenizer/$name"
  done
fi
if [ "$decoder" = 1 ]; then
  exec models/tools/train_decoder.sh "${minutes:-22}" "$export_only" "$out_root" "${train_args[@]}"
fi
minutes="${minutes:-600}"
if [ "$export_only" = 1 ]; then
  $py models/tools/train.py "$work/corpus" "$work/tokenizer" "$run" --cpu-minutes "$minutes" --export-only "${train_args[@]}"
else
  $py models/tools/train.py "$work/corpus" "$work/tokenizer" "$run" --cpu-minutes "$minutes" "${train_args[@]}"
fi
# The tokenizer fixture only changes when the tokenizer does (it does not depend on the weights).
tokenizer_changed=1
if cmp -s "$work/tokenizer/merges.txt" models/code-attention-mini/merges.txt \
  && cmp -s "$work/tokenizer/vocab.json" models/code-attention-mini/vocab.json; then tokenizer_changed=0; fi
final="$out_root/code-attention-mini"
early="$out_root/code-attention-mini-early"
if [ "$out_root" = models ]; then fixtures=test/fixtures/model; else fixtures="$out_root/fixtures"; fi
$py models/export_onnx.py "$run/final" "$final" --checkpoint-kind final \
  --display-name "Code Attention mini (final)" --parity-fixture "$fixtures/onnx-parity.json"
$py models/export_onnx.py "$run/early" "$early" --checkpoint-kind early \
  --display-name "Code Attention mini (early checkpoint)"
if [ "$tokenizer_changed" = 1 ] || [ "$out_root" != models ]; then
  $py models/tools/make_fixtures.py "$work/corpus" "$work/tokenizer" "$fixtures/tokenizer-parity.json"
fi
# --until-step: with --export-only the trainer may still be running and logging past the exported state.
final_steps=$($py -c "import json; print(json.load(open('$run/final/training.json'))['steps'])")
before=()
if [ -s "$run/loss-before.csv" ]; then before=(--before "$run/loss-before.csv"); fi
$py models/tools/loss_curve.py "$run/loss.csv" "$final/loss.csv" --until-step "$final_steps" "${before[@]}" > "$work/loss-final.md"
early_steps=$($py -c "import json; print(json.load(open('$run/early/training.json'))['steps'])")
$py models/tools/loss_curve.py "$run/loss.csv" "$work/loss-early.csv" --until-step "$early_steps" "${before[@]}" > "$work/loss-early.md"
# Model cards: attention structure through the CLI (needs `npm run build`) over examples/ and the
# held-out corpus files, forward times.
$py models/tools/heldout_snippets.py "$work/corpus/heldout.jsonl" "$work/heldout-snippets"
for which in final early; do
  dir="$final"; [ "$which" = early ] && dir="$early"
  node models/tools/measure_structure.cjs "$dir" --heldout "$work/heldout-snippets" --json "$work/structure-$which.json" \
    > "$work/structure-$which.md"
done
{ echo '```'; node models/tools/bench_forward.cjs "$final" 128,256,512; echo '```'; } > "$work/speed.md"
$py models/tools/write_card.py "$final" "$work/structure-final.md" --structure-json "$work/structure-final.json" \
  --loss-md "$work/loss-final.md" --forward-md "$work/speed.md" --comparison-md models/recipe-comparison.md
$py models/tools/write_card.py "$early" "$work/structure-early.md" --structure-json "$work/structure-early.json" \
  --loss-md "$work/loss-early.md" --comparison-md models/recipe-comparison.md
