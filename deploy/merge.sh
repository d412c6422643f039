#!/bin/sh
# The merge step: every shard's result → $OUT_DIR/corpus.json (+ .csv, .layers.csv, .svg, .png), exactly
# what one run over the whole file gives. Refuses (with a message) while a shard is missing or partial.
#
#   SHARDS=8 OUT_DIR=results sh deploy/merge.sh
set -eu
: "${SHARDS:?set SHARDS to the number of shards}"
: "${OUT_DIR:?set OUT_DIR to the folder the shards wrote}"
CLI="${CODE_ATTENTION_CLI:-$(dirname "$0")/../dist/cli.js}"
PARTS=""
i=1
while [ "$i" -le "$SHARDS" ]; do
  PARTS="$PARTS $OUT_DIR/shard-$i-of-$SHARDS.json"
  i=$((i + 1))
done
# shellcheck disable=SC2086 # the part names hold no spaces by construction; OUT_DIR may not either
exec node "$CLI" corpus merge $PARTS --out "${MERGED_PREFIX:-$OUT_DIR/corpus}"
