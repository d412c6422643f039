// Dumps, per snippet of a JSONL corpus, what an independent re-implementation of CAT-probing's score needs:
// the tree, the leaf tokens, the subword → token map and the head-averaged subword attention per layer.
// Usage: node scripts/reference-check/dump.js CORPUS.jsonl LANGUAGE OUT.json   (after npm run pretest)
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Analyzer } = require('../../out/src/core/pipeline');
const { languageSpec } = require('../../out/src/core/languages');

(async () => {
  const [corpus, language, out] = process.argv.slice(2);
  const root = join(__dirname, '..', '..');
  const analyzer = await Analyzer.create({
    modelDir: join(root, 'models', 'code-attention-mini'),
    executionProvider: 'cpu',
    grammarsDir: join(root, 'grammars'),
  });
  const snippets = [];
  for (const line of readFileSync(corpus, 'utf8').split('\n')) {
    let code;
    try {
      const record = JSON.parse(line);
      code = record.code ?? record.original_string;
    } catch {
      continue;
    }
    if (typeof code !== 'string') continue;
    let result;
    try {
      result = await analyzer.analyze(code, language, { tokens: 'leaves', maxSubwords: 256, reports: [] });
    } catch {
      continue;
    }
    const window = result.windows[0];
    const [layers, heads, n] = window.subwordAttention.shape;
    const attention = [];
    for (let l = 0; l < layers; l++) {
      const mean = new Array(n * n).fill(0);
      for (let h = 0; h < heads; h++) {
        const offset = (l * heads + h) * n * n;
        for (let x = 0; x < n * n; x++) mean[x] += window.subwordAttention.data[offset + x] / heads;
      }
      attention.push(mean);
    }
    snippets.push({
      source: code,
      nodes: result.tree.nodes.map((node) => [
        node.parent,
        node.type,
        node.startIndex,
        node.endIndex,
        node.children.length,
      ]),
      tokens: result.tokens.map((token) => [token.node, token.type, token.text]),
      tokenOfSubword: Array.from(window.tokenOfSubword),
      n,
      attention,
    });
  }
  await analyzer.dispose();
  writeFileSync(out, JSON.stringify({ commentTypes: languageSpec(language).commentTypes, snippets }));
})();
