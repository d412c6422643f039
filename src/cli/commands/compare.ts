import { compareAnalyses } from '../../core/compare';
import { languageForFile, SUPPORTED_LANGUAGE_NAMES } from '../../core/languages';
import { Analyzer, DEFAULT_MAX_BYTES, InputError } from '../../core/pipeline';
import { choice, parseArgs, UsageError } from '../args';
import { readSourceFile } from '../common';
import { table } from '../format';
import { terminalText } from '../../presenters/escape';

export const COMPARE_USAGE = 'code-attention compare FILE --model A --model B [--device auto|cpu|cuda] [--json]';

export async function compareCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['model', 'device'], ['json']);
  const file = args.positional[0];
  const models = args.options.get('model') ?? [];
  if (!file || models.length !== 2) throw new UsageError(`Usage: ${COMPARE_USAGE}`);
  const language = languageForFile(file);
  if (!language) {
    throw new InputError(
      `${terminalText(file)}: unsupported file type. Code Attention Lens supports ${SUPPORTED_LANGUAGE_NAMES}.`,
    );
  }
  const source = readSourceFile(file, DEFAULT_MAX_BYTES);
  const executionProvider = choice(args, 'device', ['auto', 'cpu', 'cuda'] as const, 'auto');
  const results = [];
  for (const modelDir of models) {
    const analyzer = await Analyzer.create({ modelDir, executionProvider });
    try {
      results.push(await analyzer.analyze(source, language, { path: file, reports: ['cat', 'dataFlow'] }));
    } finally {
      await analyzer.dispose();
    }
  }
  const comparison = compareAnalyses(results[0], results[1]);
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify(comparison, null, 2) + '\n');
    return 0;
  }
  const { a, b } = comparison;
  const title = `${terminalText(file)}: ${terminalText(a.displayName)} (A) vs ${terminalText(b.displayName)} (B)`;
  const lines = [title, comparison.note, ''];
  if (!comparison.relativeDepth) {
    lines.push(
      table(
        ['layer', 'CAT A', 'baseline A', 'CAT B', 'baseline B', 'B − A'],
        a.cat.map((value, layer) => [
          String(layer),
          value,
          a.baseline[layer],
          b.cat[layer],
          b.baseline[layer],
          b.cat[layer] - value,
        ]),
      ),
    );
  } else {
    const rows = [
      ...a.depth.map((depth, layer) => ({
        depth,
        label: `A L${layer}`,
        cat: a.cat[layer],
        baseline: a.baseline[layer],
      })),
      ...b.depth.map((depth, layer) => ({
        depth,
        label: `B L${layer}`,
        cat: b.cat[layer],
        baseline: b.baseline[layer],
      })),
    ].sort((x, y) => x.depth - y.depth);
    lines.push(
      table(
        ['layer', 'relative depth', 'CAT', 'baseline'],
        rows.map((row) => [row.label, row.depth, row.cat, row.baseline]),
      ),
    );
  }
  if (a.dataFlow && b.dataFlow) {
    const [dfA, dfB] = [a.dataFlow, b.dataFlow];
    lines.push('', 'Share of attention on data-flow edges (baseline: same offsets, graph ignored)');
    if (!comparison.relativeDepth) {
      lines.push(
        table(
          ['layer', 'DFG A', 'baseline A', 'DFG B', 'baseline B', 'B − A'],
          dfA.score.map((value, layer) => [
            String(layer),
            value,
            dfA.baseline[layer],
            dfB.score[layer],
            dfB.baseline[layer],
            dfB.score[layer] - value,
          ]),
        ),
      );
    } else {
      const rows = [
        ...a.depth.map((depth, layer) => ({
          depth,
          label: `A L${layer}`,
          score: dfA.score[layer],
          baseline: dfA.baseline[layer],
        })),
        ...b.depth.map((depth, layer) => ({
          depth,
          label: `B L${layer}`,
          score: dfB.score[layer],
          baseline: dfB.baseline[layer],
        })),
      ].sort((x, y) => x.depth - y.depth);
      lines.push(
        table(
          ['layer', 'relative depth', 'DFG share', 'baseline'],
          rows.map((row) => [row.label, row.depth, row.score, row.baseline]),
        ),
      );
    }
  }
  const best = (model: typeof a) => {
    let top = { layer: 0, head: 0, value: -Infinity };
    model.heatmap.forEach((row, layer) =>
      row.forEach((value, head) => {
        if (value > top.value) top = { layer, head, value };
      }),
    );
    return `L${top.layer}H${top.head} ${top.value.toFixed(3)}`;
  };
  lines.push('', `best head by CAT-score: A ${best(a)}, B ${best(b)}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
