#!/bin/bash
# Slurm: one array task per shard, then a merge job that waits for all of them.
#   sbatch --export=ALL,CORPUS=$PWD/data/python.jsonl,LANGUAGE=python,OUT_DIR=$PWD/results deploy/slurm-array.sh
# Submit from the repository (or set CODE_ATTENTION_CLI to dist/cli.js of an installed copy).
# The array size and SHARDS must agree: --array=0-(SHARDS-1).
#SBATCH --job-name=cat-corpus
#SBATCH --array=0-7
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --output=cat-corpus-%A_%a.log
set -euo pipefail
export SHARDS="${SHARDS:-8}"
cd "${SLURM_SUBMIT_DIR:-.}"
# Task 0 submits the merge job, held until every task of the array has succeeded.
if [ "${SLURM_ARRAY_TASK_ID}" = "0" ]; then
  sbatch --dependency=afterok:"${SLURM_ARRAY_JOB_ID}" --job-name=cat-corpus-merge --output=cat-corpus-merge-%j.log \
    --export=ALL,SHARDS="$SHARDS",OUT_DIR="$OUT_DIR" --wrap "sh deploy/merge.sh"
fi
# Requeued or pre-empted tasks resume from their state file.
sh deploy/run-shard.sh --workers "${SLURM_CPUS_PER_TASK:-1}"   # one single-threaded model process per core
