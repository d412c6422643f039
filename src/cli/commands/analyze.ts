import { relative } from 'node:path';
import { languageForFile, languageSpec, SUPPORTED_LANGUAGE_NAMES } from '../../core/languages';
import { Analyzer, DEFAULT_MAX_BYTES, InputError, windowTensors } from '../../core/pipeline';
import type { AnalysisResult } from '../../core/types';
import { choice, integerOption, option, parseArgs, UsageError } from '../args';
import { defaultModelDir, MAX_SOURCE_BYTES, readSourceFile } from '../common';
import { terminalText } from '../../presenters/escape';
import { INTERVAL_METHOD, spearmanInterval } from '../../presenters/faithfulness';
import type { CatScoreReport } from '../../core/metrics/catScore';
import { causalCatLines, causalDataFlowTitle, causalHeadStatisticsLines, sinkLines } from '../causalFormat';
import { formatNumber, ms, table } from '../format';
import {
  bestOffset,
  isCausalStructureReport,
  relationLabel,
  topHeads,
  type RelationAccuracy,
  type StructureHeadsReport,
  type StructureRelation,
} from '../../core/metrics/structureHeads';
import { faithfulness, type FaithfulnessReport } from '../../core/metrics/faithfulness';
import { fileTypeFilter, PRESET_USAGE, PRESET_VALUE_OPTIONS, presetOptions } from '../presetOptions';

export const ANALYZE_USAGE = `code-attention analyze FILE [--model DIR] [--device auto|cpu|cuda] [--json]
    ${PRESET_USAGE} [--types reference|data]
    [--keep-comments] [--pair-rule mean|sumMean] [--max-bytes N] [--include-attention]
    [--cache-mb N]   (MiB of full attention tensors kept for recent windows; default: two of the model's
                     largest windows, at most 256; others are recomputed)
    [--layer-means float16|float32]   (how each window's per-layer head means are kept; float16, the default,
                     halves them, changes per-layer scores by less than docs/benchmarks.md states)
    [--faithfulness TOKEN|LINE:COL]   (blank out each token of the focus's window and rank the views against it)`;

export async function analyzeCommand(argv: string[]): Promise<number> {
  const valueOptions = [
    'model',
    'device',
    'pair-rule',
    'max-bytes',
    'faithfulness',
    'types',
    'cache-mb',
    'layer-means',
    ...PRESET_VALUE_OPTIONS,
  ];
  const args = parseArgs(argv, valueOptions, ['json', 'keep-comments', 'include-attention']);
  const typesOption = option(args, 'types');
  if (typesOption !== undefined && typesOption !== 'reference' && typesOption !== 'data') {
    const allowed = '"reference" (the per-language list) or "data" (chosen from this file, per layer)';
    throw new UsageError(`--types must be ${allowed} (got "${typesOption}").`);
  }
  const preset = presetOptions(args, typesOption === undefined ? undefined : typesOption === 'data');
  const file = args.positional[0];
  if (!file || args.positional.length > 1) throw new UsageError(`Usage: ${ANALYZE_USAGE}`);
  const language = languageForFile(file);
  if (!language) {
    throw new InputError(
      `${terminalText(file)}: unsupported file type. Code Attention Lens supports ${SUPPORTED_LANGUAGE_NAMES}.`,
    );
  }
  const maxBytes = integerOption(args, 'max-bytes', DEFAULT_MAX_BYTES, 1, MAX_SOURCE_BYTES);
  const focus = option(args, 'faithfulness');
  if (focus !== undefined) checkFocus(focus);
  const source = readSourceFile(file, maxBytes);
  const cacheMb = option(args, 'cache-mb');
  if (cacheMb !== undefined && !(Number(cacheMb) >= 0)) {
    throw new UsageError(`--cache-mb takes a number of MiB ≥ 0, got "${terminalText(cacheMb)}".`);
  }
  const analyzer = await Analyzer.create({
    modelDir: option(args, 'model') ?? defaultModelDir(),
    executionProvider: choice(args, 'device', ['auto', 'cpu', 'cuda'] as const, 'auto'),
    tensorCacheBytes: cacheMb === undefined ? undefined : Number(cacheMb) * 2 ** 20,
    layerMeans: { precision: choice(args, 'layer-means', ['float16', 'float32'] as const, 'float16') },
  });
  try {
    const result = await analyzer.analyze(source, language, {
      path: file,
      keepComments: args.flags.has('keep-comments'),
      pairRule: choice(args, 'pair-rule', ['mean', 'sumMean'] as const, 'mean'),
      distance: preset.distance,
      preset: preset.preset,
      tokens: preset.tokens,
      maxSubwords: preset.maxSubwords,
      collapseWhitespace: preset.collapseWhitespace,
      typeFilter: fileTypeFilter(preset, language),
      maxBytes,
    });
    const faithfulnessReport =
      focus === undefined ? undefined : await faithfulness(result, analyzer.model, focusToken(result, focus));
    const attention = args.flags.has('include-attention') ? await windowAttention(result) : undefined;
    if (args.flags.has('json'))
      process.stdout.write(
        JSON.stringify(
          {
            ...resultSummary(result, attention !== undefined, attention),
            ...(faithfulnessReport ? { faithfulness: faithfulnessReport } : {}),
          },
          null,
          2,
        ) + '\n',
      );
    else
      process.stdout.write(
        formatAnalysis(result, file) +
          (faithfulnessReport ? '\n\n' + formatFaithfulness(result, faithfulnessReport) : '') +
          '\n',
      );
    for (const warning of result.warnings) process.stderr.write(`warning: ${terminalText(warning)}\n`);
    return 0;
  } finally {
    await analyzer.dispose();
  }
}

export interface WindowAttentionJson {
  tokenStart: number;
  tokenEnd: number;
  /** Decoder windows: the first code token scored here (earlier ones are the prefix). */
  scoredStart?: number;
  pieces: string[];
  tokenAttentionShape: number[];
  tokenAttention: number[];
}

/** Every window's code-token attention for `--include-attention`, recomputing evicted windows one at a time. */
export async function windowAttention(result: AnalysisResult): Promise<WindowAttentionJson[]> {
  const windows: WindowAttentionJson[] = [];
  for (const window of result.windows) {
    const { tokenAttention } = await windowTensors(window);
    windows.push({
      tokenStart: window.tokenStart,
      tokenEnd: window.tokenEnd,
      ...(window.scoredStart !== undefined ? { scoredStart: window.scoredStart } : {}),
      pieces: window.pieces,
      tokenAttentionShape: tokenAttention.shape,
      tokenAttention: Array.from(tokenAttention.data, (value) => +value.toFixed(5)),
    });
  }
  return windows;
}

/**
 * What `--json` prints: everything but the raw tensors (unless asked for: then `attention`, or the
 * windows' cached tensors read synchronously).
 */
export function resultSummary(
  result: AnalysisResult,
  includeAttention = false,
  attention?: WindowAttentionJson[],
): object {
  return {
    file: result.source.path,
    language: result.source.language,
    model: result.model,
    ...(result.causal ? { causal: true } : {}),
    device: result.device,
    counts: counts(result),
    timings: result.timings,
    options: result.options,
    scores: result.scores,
    errors: result.errors,
    warnings: result.warnings,
    ...(includeAttention
      ? {
          tokens: result.tokens.map(({ text, type, range }) => ({ text, type, range })),
          windows:
            attention ??
            result.windows.map((window) => ({
              tokenStart: window.tokenStart,
              tokenEnd: window.tokenEnd,
              pieces: window.pieces,
              tokenAttentionShape: window.tokenAttention.shape,
              tokenAttention: Array.from(window.tokenAttention.data, (value) => +value.toFixed(5)),
            })),
        }
      : {}),
  };
}

export function counts(result: AnalysisResult) {
  return {
    codeTokens: result.tokens.length,
    subwords: result.windows.reduce((sum, window) => sum + window.ids.length, 0),
    windows: result.windows.length,
    tokensInErrors: result.tokens.filter((token) => token.inError).length,
  };
}

export function formatAnalysis(result: AnalysisResult, file: string): string {
  const c = counts(result);
  const t = result.timings;
  const cat = result.scores.cat;
  const lines = [
    `${terminalText(relative(process.cwd(), file) || file)} (${languageSpec(result.source.language).displayName})`,
    `model    ${terminalText(result.model.displayName)} [${terminalText(result.model.name)}], ` +
      `${result.model.layers} layers × ${result.model.heads} heads, device ${result.device}`,
    `tokens   ${c.codeTokens} code tokens, ${c.subwords} subwords ` +
      `${result.causal ? '(decoder: the text as it is, windows with a prefix)' : 'incl. <s> </s>'}, ${c.windows} ` +
      `window${c.windows === 1 ? '' : 's'}` +
      (result.errors.length ? `, ${result.errors.length} syntax error region(s) (${c.tokensInErrors} tokens)` : ''),
    `time     parse ${ms(t.parseMs)} · tokenize ${ms(t.tokenizeMs)} · forward ${ms(t.forwardMs)} · ` +
      `align ${ms(t.alignMs)} · metrics ${ms(t.metricsMs)} · total ${ms(t.totalMs)}`,
  ];
  if (cat) {
    const d = cat.definition;
    lines.push(
      ...(result.causal
        ? causalCatLines(result)
        : [
            `CAT      ${d.attentionThreshold}; ${d.distanceThreshold} (${d.distance} distance); pair ` +
              `rule ${d.pairRule}; layer = mean over heads`,
            `         thresholds: distance ` +
              `< ${formatNumber(cat.thresholds.distance)}${cat.snippets > 1 ? ' (mean over windows)' : ''}; ` +
              `attention > the per-layer value below; ${cat.pairs} token pairs`,
          ]),
      ...typeLines(cat),
      `baseline ${d.baseline}`,
      ...(d.choices ?? []).map((line, index) => `${index === 0 ? 'choices' : '       '}  ${line}`),
      '',
      table(
        ['layer', result.causal ? 'causal CAT' : 'CAT-score', 'baseline', 'difference', 'attention >'],
        cat.score.perLayer.map((value, layer) => [
          String(layer),
          value,
          cat.baseline.perLayer[layer],
          value - cat.baseline.perLayer[layer],
          cat.thresholds.attentionPerLayer[layer].toPrecision(3),
        ]),
      ),
    );
  }
  const dataFlow = result.scores.dataFlow;
  if (dataFlow) {
    lines.push(
      '',
      causalDataFlowTitle(result) ??
        `Data flow: ${dataFlow.edges} edges, ${dataFlow.tokens} uses; ${dataFlow.definition}`,
      table(
        ['layer', result.causal ? 'backward DFG' : 'DFG share', 'baseline', 'difference'],
        dataFlow.score.perLayer.map((value, layer) => [
          String(layer),
          value,
          dataFlow.baseline.perLayer[layer],
          value - dataFlow.baseline.perLayer[layer],
        ]),
      ),
    );
  }
  const stats = result.scores.headStatistics;
  if (stats?.causal) lines.push(...causalHeadStatisticsLines(stats));
  else if (stats) {
    lines.push(
      '',
      'Attention per layer (means over heads and code-token rows): mass on <s>, </s>, punctuation; ' +
        'previous/next subword; row entropy',
      table(
        ['layer', '<s>', '</s>', 'punct.', 'previous', 'next', 'entropy'],
        stats.perLayer.bos.map((_, layer) => [
          String(layer),
          stats.perLayer.bos[layer],
          stats.perLayer.eos[layer],
          stats.perLayer.punctuation[layer],
          stats.perLayer.previous[layer],
          stats.perLayer.next[layer],
          stats.perLayer.entropy[layer],
        ]),
      ),
    );
  }
  const roles = result.scores.headRoles;
  if (roles) {
    const labels = {
      bosSink: stats?.causal ? 'first position' : '<s>',
      eosSink: '</s>',
      punctuationSink: 'punctuation',
      previousToken: 'previous subword',
      nextToken: 'next subword',
    };
    const named = roles.map(
      (role) => `L${role.layer}H${role.head} ${labels[role.role]} ${formatNumber(role.share, 2)}`,
    );
    lines.push(`heads with ≥ 0.5 of their attention on one target: ${named.length ? named.join(', ') : 'none'}`);
  }
  const heads = result.scores.structureHeads;
  if (heads) lines.push('', structureHeadsTable(heads));
  if (result.scores.sinks) lines.push(...sinkLines(result.scores.sinks));
  return lines.join('\n');
}

/** Checks the form of a --faithfulness focus before any work (its token is found after the analysis). */
function checkFocus(focus: string): void {
  const position = /^(\d+):(\d+)$/.exec(focus);
  if (position && (Number(position[1]) < 1 || Number(position[2]) < 1)) {
    throw new UsageError(`--faithfulness ${focus}: LINE and COL count from 1.`);
  }
  if (!position && !/^\d+$/.test(focus)) {
    throw new UsageError(`--faithfulness takes a code-token index or LINE:COL (1-based), got "${focus}".`);
  }
}

/** A code-token index, or a 1-based LINE:COL inside a code token. */
export function focusToken(result: AnalysisResult, focus: string): number {
  const position = /^(\d+):(\d+)$/.exec(focus);
  if (position) {
    const line = Number(position[1]) - 1;
    const character = Number(position[2]) - 1;
    if (line < 0 || character < 0) throw new UsageError(`--faithfulness ${focus}: LINE and COL count from 1.`);
    const index = result.tokens.findIndex(
      ({ range: { start, end } }) =>
        (line > start.line || (line === start.line && character >= start.character)) &&
        (line < end.line || (line === end.line && character < end.character)),
    );
    if (index < 0)
      throw new UsageError(`--faithfulness ${focus}: no code token at line ${line + 1}, column ${character + 1}.`);
    return index;
  }
  if (!/^\d+$/.test(focus)) {
    const got = terminalText(focus);
    throw new UsageError(`--faithfulness takes a code-token index or LINE:COL (1-based), got "${got}".`);
  }
  const index = Number(focus);
  if (index >= result.tokens.length)
    throw new UsageError(
      `--faithfulness ${focus}: the file has ${result.tokens.length} code tokens (0–${result.tokens.length - 1}).`,
    );
  return index;
}

export function formatFaithfulness(result: AnalysisResult, report: FaithfulnessReport): string {
  const token = result.tokens[report.focus];
  return [
    `Faithfulness for token ${report.focus} "${terminalText(token.text)}" ` +
      `(line ${token.range.start.line + 1}, column ${token.range.start.character + 1}), ` +
      `${report.tokens.length} tokens blanked out`,
    `         ${report.definition}`,
    table(
      ['view', 'Spearman ρ', '95 % low', '95 % high'],
      report.views.map((view) => {
        const { low, high } = spearmanInterval(view.spearman, report.tokens.length);
        return [view.label, view.spearman, low, high];
      }),
    ),
    ...report.skipped.map((reason) => `skipped  ${terminalText(reason)}`),
    `         ${INTERVAL_METHOD}`,
  ].join('\n');
}

/** The top heads per relation of a structure-heads report, as a titled table. */
export function structureHeadsTable(heads: StructureHeadsReport): string {
  const rows: Array<Array<string | number>> = [];
  for (const relation of Object.keys(heads.relations) as StructureRelation[]) {
    const entry = heads.relations[relation]!;
    const best = topHeads(heads, relation, 3);
    rows.push([
      relationLabel(relation, heads),
      best.map((head) => `L${head.layer}H${head.head} ${formatNumber(head.accuracy, 2)}`).join('  '),
      best[0]?.chance ?? NaN,
      offsetText(entry),
      String(entry.tokens),
    ]);
  }
  const title = isCausalStructureReport(heads)
    ? 'Structure heads, causal (j < i, decoder): share of scored tokens whose strongest attention to an earlier ' +
      'token lands on an earlier related one (top 3 heads); chance = earlier related tokens / earlier tokens'
    : 'Structure heads: share of tokens whose strongest attention lands on the relation (top 3 heads)';
  return (
    `${title}; fixed offset = the best offset's accuracy ` +
    "(Clark et al.'s positional baseline: always the token k away)\n" +
    table(['relation', 'top heads (accuracy)', 'chance', 'fixed offset', 'tokens'], rows)
  );
}

/** The fixed-offset baseline as "−2: 0.22" (offset in tokens, then its accuracy); "n/a" without one. */
export function offsetText(entry: RelationAccuracy): string {
  const best = bestOffset(entry);
  return best ? `${best.offset > 0 ? '+' : '−'}${Math.abs(best.offset)}: ${formatNumber(best.share, 2)}` : 'n/a';
}

/** The kept types: one line, or one per layer when they were chosen per layer. */
export function typeLines(cat: CatScoreReport): string[] {
  const d = cat.definition;
  if (!d.keptTypesPerLayer) {
    const kept = d.keptTypes === 'all' ? 'all' : d.keptTypes.join(' ');
    return [`types    ${kept}  (${d.typeSource}; ${cat.tokensKept} tokens kept)`];
  }
  const none = '(none: no type is counted more than once per token row)';
  return [
    `types    ${d.typeSource}; ${cat.tokensKept} tokens kept in the last layer`,
    ...d.keptTypesPerLayer.map((types, layer) => `         layer ${layer}: ${types.length ? types.join(' ') : none}`),
  ];
}
