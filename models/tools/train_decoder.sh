#!/usr/bin/env bash
# The decoder half of models/train.sh (run it as `models/train.sh --decoder …`, which prepares the corpus
# and tokenizer first): trains the tiny Llama decoder (resuming from models/_work/decoder-run/state.pt),
# converts the final and early checkpoints with the project's TypeScript converter, measures them on
# held-out files and writes their manifests' training fields, model cards and the parity fixture.
# Arguments (from train.sh): CPU_MINUTES EXPORT_ONLY(0|1) OUT_ROOT [train_decoder.py options…]
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes="$1"
export_only="$2"
out_root="$3"
shift 3
py=/usr/bin/python3
work=models/_work
run="$work/decoder-run"
if [ ! -s dist/cli.js ]; then
  echo "dist/cli.js is missing: run \`npm run build\` first (the conversion uses the project's CLI)." >&2
  exit 1
fi
extra=()
[ "$export_only" = 1 ] && extra+=(--export-only)
$py models/tools/train_decoder.py "$work/corpus" "$work/tokenizer" "$run" --cpu-minutes "$minutes" "${extra[@]}" "$@"
if [ "$out_root" = models ]; then fixtures=test/fixtures/decoder-model; else fixtures="$out_root/fixtures-decoder"; fi
mkdir -p "$fixtures"
for which in final early; do
  dir="$out_root/code-attention-mini-decoder"
  display="Code Attention mini decoder (final)"
  if [ "$which" = early ]; then
    dir="$out_root/code-attention-mini-decoder-early"
    display="Code Attention mini decoder (early checkpoint)"
  fi
  rm -rf "$dir"
  node dist/cli.js convert "$run/$which" "$dir" --name "$(basename "$dir")" --display-name "$display"
  steps=$($py -c "import json; print(json.load(open('$run/$which/training.json'))['steps'])")
  loss_csv="$work/decoder-loss-$which.csv"
  [ "$which" = final ] && loss_csv="$dir/loss.csv"
  $py models/tools/loss_curve.py "$run/loss.csv" "$loss_csv" --until-step "$steps" > "$work/decoder-loss-$which.md"
  $py models/tools/decoder_structure.py "$run/$which" "$work/corpus" "$work/tokenizer" \
    --json "$work/decoder-structure-$which.json" > "$work/decoder-structure-$which.md"
done
$py models/tools/decoder_structure.py "$run" "$work/corpus" "$work/tokenizer" --snapshots --windows 8 \
  --json "$work/decoder-snapshots.json" > "$work/decoder-snapshots.md"
[ -d "$work/heldout-snippets" ] || $py models/tools/heldout_snippets.py "$work/corpus/heldout.jsonl" "$work/heldout-snippets"
for which in final early; do
  dir="$out_root/code-attention-mini-decoder"; other=early
  if [ "$which" = early ]; then dir="$out_root/code-attention-mini-decoder-early"; other=final; fi
  node models/tools/measure_causal.cjs "$dir" --heldout "$work/heldout-snippets" > "$work/decoder-causal-$which.md"
  $py models/tools/finish_decoder.py "$dir" "$run/$which" --checkpoint-kind "$which" \
    --causal-md "$work/decoder-causal-$which.md" \
    --structure-md "$work/decoder-structure-$which.md" --structure-json "$work/decoder-structure-$which.json" \
    --other-structure-json "$work/decoder-structure-$other.json" --loss-md "$work/decoder-loss-$which.md" \
    --snapshots-md "$work/decoder-snapshots.md"
done
$py models/tools/make_decoder_parity.py "$run/final" "$fixtures/onnx-parity.json"
