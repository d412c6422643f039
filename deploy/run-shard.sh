#!/bin/sh
# One shard of a corpus run: the task index comes from the engine (Slurm array or Kubernetes
# Indexed Job, both 0-based) or from SHARD_INDEX; the result is $OUT_DIR/shard-K-of-N.json (+ .csv,
# .layers.csv, .svg), and a rerun of the same task resumes where it stopped.
#
#   CORPUS=data/python.jsonl LANGUAGE=python SHARDS=8 OUT_DIR=results sh deploy/run-shard.sh [corpus options…]
set -eu
: "${CORPUS:?set CORPUS to the JSONL file}"
: "${LANGUAGE:?set LANGUAGE (python, java, javascript, typescript, go, ruby, php)}"
: "${SHARDS:?set SHARDS to the number of shards}"
: "${OUT_DIR:?set OUT_DIR to a folder all tasks can write}"
INDEX="${SHARD_INDEX:-${SLURM_ARRAY_TASK_ID:-${JOB_COMPLETION_INDEX:-}}}"
[ -n "$INDEX" ] || { echo "no task index: set SHARD_INDEX, or run as a Slurm array task or a Kubernetes Indexed Job" >&2; exit 2; }
SHARD=$((INDEX + 1))
CLI="${CODE_ATTENTION_CLI:-$(dirname "$0")/../dist/cli.js}"
mkdir -p "$OUT_DIR"
PREFIX="$OUT_DIR/shard-$SHARD-of-$SHARDS"
# --resume continues an interrupted task (or starts when there is nothing to continue).
exec node "$CLI" corpus "$CORPUS" --language "$LANGUAGE" --shard "$SHARD/$SHARDS" --out "$PREFIX" --resume "$@"
