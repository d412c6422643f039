// How far apart the brackets are that a bracket head gets right: for one directed bracket relation
// and one head, the pairs of the held-out snippets by distance in code tokens (within a window) and
// the head's accuracy at each distance, with the share of heads that hit at distance ≥ 3, where no
// fixed offset of −2 / +2 can. A head that only looks two tokens away is right on `f(x)` and never
// on a function body.
// Usage: node models/tools/bracket_distance.cjs MODEL_DIR SNIPPETS_DIR [closerToOpener|openerToCloser] [LAYER HEAD]
//   (after `npm run pretest`: it runs the analysis from out/; SNIPPETS_DIR as models/tools/heldout_snippets.py writes)
//   Without LAYER HEAD: the head most accurate on the relation over all pairs.
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const { Analyzer } = require(join(root, 'out', 'src', 'core', 'pipeline.js'));
const { relatedTokens } = require(join(root, 'out', 'src', 'core', 'metrics', 'structureHeads.js'));
const { windowTensors } = require(join(root, 'out', 'src', 'core', 'windowTensors.js'));

const [modelDir, snippetsDir, relation = 'closerToOpener', layerArg, headArg] = process.argv.slice(2);
if (!modelDir || !snippetsDir || !['closerToOpener', 'openerToCloser'].includes(relation)) {
  console.error('Usage: node models/tools/bracket_distance.cjs MODEL_DIR SNIPPETS_DIR [closerToOpener|openerToCloser] [LAYER HEAD]');
  process.exit(2);
}
const BUCKETS = [[1, 1], [2, 2], [3, 4], [5, 8], [9, 16], [17, 32], [33, Infinity]];

/** Per pair: its distance and, per head, whether that head's strongest attention lands on the partner. */
async function pairs() {
  const analyzer = await Analyzer.create({ modelDir, executionProvider: 'cpu', grammarsDir: join(root, 'grammars') });
  const found = [];
  try {
    for (const file of readdirSync(snippetsDir).filter((name) => name.endsWith('.jsonl')).sort()) {
      for (const line of readFileSync(join(snippetsDir, file), 'utf8').split('\n').filter(Boolean)) {
        const snippet = JSON.parse(line);
        const result = await analyzer.analyze(snippet.code, snippet.language);
        const related = relatedTokens(result, relation);
        for (const window of result.windows) {
          const { tokenAttention } = await windowTensors(window);
          const [layers, heads, m] = tokenAttention.shape;
          for (let a = 0; a < m; a++) {
            const partners = related[window.tokenStart + a]
              .filter((b) => b >= window.tokenStart && b < window.tokenEnd)
              .map((b) => b - window.tokenStart);
            if (!partners.length) continue;
            const hits = [];
            for (let head = 0; head < layers * heads; head++) {
              const row = tokenAttention.data.subarray((head * m + a) * m, (head * m + a + 1) * m);
              let best = -1;
              for (let b = 0; b < m; b++) if (b !== a && (best < 0 || row[b] > row[best])) best = b;
              hits.push(partners.includes(best));
            }
            found.push({ distance: Math.abs(partners[0] - a), hits, heads });
          }
        }
      }
    }
  } finally {
    await analyzer.dispose();
  }
  return found;
}

(async () => {
  const found = await pairs();
  if (!found.length) throw new Error(`no ${relation} pairs in ${snippetsDir}`);
  const heads = found[0].heads;
  const accuracy = (list, index) => list.filter((pair) => pair.hits[index]).length / list.length;
  let index = layerArg !== undefined ? Number(layerArg) * heads + Number(headArg) : 0;
  if (layerArg === undefined)
    for (let k = 1; k < found[0].hits.length; k++) if (accuracy(found, k) > accuracy(found, index)) index = k;
  const name = `L${Math.floor(index / heads)}H${index % heads}`;
  console.log(`${relation}, head ${name}, ${found.length} pairs in ${snippetsDir} (distance in code tokens of one window):\n`);
  console.log(`| distance | pairs | ${name} accuracy |`);
  console.log('| --- | ---: | ---: |');
  for (const [low, high] of BUCKETS) {
    const inside = found.filter((pair) => pair.distance >= low && pair.distance <= high);
    const label = high === Infinity ? `≥ ${low}` : low === high ? String(low) : `${low}–${high}`;
    if (inside.length) console.log(`| ${label} | ${inside.length} | ${accuracy(inside, index).toFixed(2)} |`);
  }
  console.log(`| all | ${found.length} | ${accuracy(found, index).toFixed(2)} |`);
  const far = found.filter((pair) => pair.distance >= 3);
  const ranked = found[0].hits.map((_, k) => [k, accuracy(far, k)]).sort((x, y) => y[1] - x[1]).slice(0, 3);
  console.log(`\nBest heads on the ${far.length} pairs at distance ≥ 3: ` +
    ranked.map(([k, value]) => `L${Math.floor(k / heads)}H${k % heads} ${value.toFixed(2)}`).join(', '));
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
