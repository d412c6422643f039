/** The outputs of a corpus run or merge: JSON, CSV, tidy CSV, the figure as SVG and PNG, and the table on stdout. */
import type { CatDefinition } from '../../core/metrics/catScore';
import type { ExecutionDevice, ModelInfo } from '../../core/types';
import { catFigureSvg } from '../../presenters/corpusFigure';
import { terminalText } from '../../presenters/escape';
import { csv, table } from '../format';
import { structureHeadsTable } from '../commands/analyze';
import { checkWritable, removeIfPresent, writeAtomically } from './files';
import { svgToPng } from './png';
import type { Shard } from './lines';
import { CorpusTotals, type CorpusTotalsJson } from './totals';

/** What a run was over: parts agree on it (except the shard) or cannot be merged. */
export interface CorpusInput {
  sha256: string;
  /** Lines considered (after --limit), before sharding. */
  lines: number;
  language: string;
  distance: string;
  pairRule: string;
  types: string;
  heads: boolean;
  limit: number | null;
  preset: { preset?: string; tokens?: string; maxSubwords?: number; collapseWhitespace?: boolean };
}

export interface ModelRun {
  info: ModelInfo;
  device: ExecutionDevice | 'mixed';
  definition: CatDefinition;
  totals: CorpusTotals;
}

export interface CorpusReport {
  file: string;
  input: CorpusInput;
  shard?: Shard;
  partial?: { linesDone: number; linesTotal: number; reason: string };
  mergedFrom?: string[];
  runs: ModelRun[];
  /** Lines naming the types chosen per layer (`--types data`), for stdout only. */
  typeRanking?: string[];
}

export function outputPaths(prefix: string): {
  json: string;
  csv: string;
  layersCsv: string;
  svg: string;
  png: string;
  state: string;
} {
  return {
    json: `${prefix}.json`,
    csv: `${prefix}.csv`,
    layersCsv: `${prefix}.layers.csv`,
    svg: `${prefix}.svg`,
    png: `${prefix}.png`,
    state: `${prefix}.state.json`,
  };
}

export function checkOutputs(prefix: string): void {
  for (const path of Object.values(outputPaths(prefix))) checkWritable(path);
}

function modelJson(run: ModelRun) {
  const structureHeads = run.totals.structureHeads();
  return {
    model: run.info,
    device: run.device,
    definition: run.definition,
    snippets: run.totals.catSnippets,
    skipped: run.totals.sortedSkipped(),
    perLayer: run.totals.catLayers(),
    dataFlow: { snippets: run.totals.dataFlowSnippets, perLayer: run.totals.dataFlowLayers() },
    ...(structureHeads ? { structureHeads } : {}),
    totals: run.totals.toJSON(),
  };
}

export function reportJson(report: CorpusReport): string {
  const head = {
    file: report.file,
    language: report.input.language,
    ...(report.partial ? { partial: report.partial } : {}),
    ...(report.shard ? { shard: report.shard } : {}),
    ...(report.mergedFrom ? { mergedFrom: report.mergedFrom } : {}),
    input: report.input,
  };
  const body =
    report.runs.length === 1
      ? { ...head, ...modelJson(report.runs[0]) }
      : { ...head, models: report.runs.map(modelJson) };
  return JSON.stringify(body, null, 2) + '\n';
}

const LAYER_HEADERS = ['layer', 'cat_mean', 'cat_std', 'baseline_mean', 'baseline_std', 'snippets'];

/** A decoder's CAT is the causal one (j ≤ i): its tables and figure say so. */
const CAUSAL_CAT = 'causal CAT (j ≤ i)';

function isCausal(run: ModelRun): boolean {
  return run.definition.causal !== undefined;
}

function layerRows(run: ModelRun): Array<Array<string | number>> {
  return run.totals
    .catLayers()
    .map((entry) => [
      String(entry.layer),
      entry.mean,
      entry.std,
      entry.baselineMean,
      entry.baselineStd,
      String(entry.n),
    ]);
}

/**
 * Writes PREFIX.json, .csv, .layers.csv, .svg and .png, each atomically. A PNG that cannot be rendered
 * loses nothing else: the reason goes to stderr and the other files are written.
 */
export async function writeReport(prefix: string, report: CorpusReport): Promise<{ png: boolean }> {
  const paths = outputPaths(prefix);
  const multi = report.runs.length > 1;
  const csvText = multi
    ? csv(
        ['model', ...LAYER_HEADERS],
        report.runs.flatMap((run) => layerRows(run).map((row) => [run.info.name, ...row])),
      )
    : csv(LAYER_HEADERS, layerRows(report.runs[0]));
  const tidy: Array<Array<string | number>> = [];
  for (const run of report.runs) {
    for (const [metric, layers] of [
      ['cat', run.totals.catLayers()],
      ['dataflow', run.totals.dataFlowLayers()],
    ] as const) {
      for (const entry of layers) {
        tidy.push([run.info.name, String(entry.layer), metric, entry.mean, entry.std, String(entry.n)]);
        tidy.push([
          run.info.name,
          String(entry.layer),
          `${metric}_baseline`,
          entry.baselineMean,
          entry.baselineStd,
          String(entry.n),
        ]);
      }
    }
  }
  const causal = report.runs.filter(isCausal).length;
  // Every run a decoder: the causal name; some: each decoder's line says it is causal.
  const catName = causal === report.runs.length ? CAUSAL_CAT : causal ? 'CAT-score (causal for decoders)' : 'CAT-score';
  const title = `${catName} per layer, ${report.input.language}${report.partial ? ' (partial)' : ''}`;
  const figure = catFigureSvg(
    report.runs.map((run) => ({
      label: run.info.displayName + (causal && causal < report.runs.length && isCausal(run) ? ` (${CAUSAL_CAT})` : ''),
      snippets: run.totals.catSnippets,
      perLayer: run.totals.catLayers(),
    })),
    title,
    catName,
  );
  let png: Buffer | undefined;
  try {
    png = await svgToPng(figure);
  } catch (error) {
    process.stderr.write(`${paths.png} not written: ${(error as Error).message}; the SVG has the same figure\n`);
  }
  // JSON last: its presence means the other files are complete.
  writeAtomically(paths.csv, csvText);
  writeAtomically(paths.layersCsv, csv(['model', 'layer', 'metric', 'mean', 'std', 'n'], tidy));
  writeAtomically(paths.svg, figure);
  if (png) writeAtomically(paths.png, png);
  else removeIfPresent(paths.png);
  writeAtomically(paths.json, reportJson(report));
  return { png: png !== undefined };
}

/** The human summary on stdout. */
export function printReport(report: CorpusReport, prefix: string, pngWritten = true): void {
  const out = (text: string) => process.stdout.write(text);
  if (report.partial)
    out(
      `PARTIAL: ${report.partial.linesDone} of ${report.partial.linesTotal} lines done ` +
        `(${report.partial.reason}); the files are marked partial.\n\n`,
    );
  for (const run of report.runs) {
    const skipped = run.totals.sortedSkipped();
    out(
      `${terminalText(run.info.displayName)} (${run.device}), ${report.input.language}, ${run.totals.catSnippets} ` +
        `snippets scored` +
        (Object.keys(skipped).length
          ? `, skipped: ${Object.entries(skipped)
              .map(([why, n]) => `${n} (${terminalText(why)})`)
              .join('; ')}`
          : '') +
        '\n\n',
    );
    const choices = run.definition.choices ?? [];
    if (choices.length) out(`${choices.join('\n')}\n`);
    if (report.typeRanking?.length) {
      const heading = 'kept types per layer, with the share of their pair memberships above the attention quantile:';
      out(`${heading}\n${report.typeRanking.join('\n')}\n`);
    }
    out('\n');
    const catName = isCausal(run) ? 'causal CAT' : 'CAT';
    if (isCausal(run)) out(`decoder: ${terminalText(run.definition.causal!)}\n`);
    out(table(['layer', `${catName} mean`, `${catName} std`, 'baseline', 'baseline std', 'n'], layerRows(run)) + '\n');
    if (run.totals.dataFlowSnippets) {
      const dataFlowName = isCausal(run) ? 'backward DFG' : 'DFG';
      out(
        isCausal(run)
          ? `\nShare of attention on backward data-flow edges (decoder; ${run.totals.dataFlowSnippets} snippets ` +
              `with backward data flow; baseline: same backward offsets, graph ignored)\n`
          : `\nShare of attention on data-flow edges (${run.totals.dataFlowSnippets} snippets with data ` +
              `flow; baseline: same offsets, graph ignored)\n`,
      );
      out(
        table(
          ['layer', `${dataFlowName} mean`, `${dataFlowName} std`, 'baseline', 'baseline std', 'n'],
          run.totals
            .dataFlowLayers()
            .map((entry) => [
              String(entry.layer),
              entry.mean,
              entry.std,
              entry.baselineMean,
              entry.baselineStd,
              String(entry.n),
            ]),
        ) + '\n',
      );
    }
    const heads = run.totals.structureHeads();
    if (heads) out(`\n${structureHeadsTable(heads)}\n`);
    out('\n');
  }
  const paths = outputPaths(prefix);
  const written = [paths.json, paths.csv, paths.layersCsv, paths.svg].map(terminalText).join(', ');
  out(`wrote ${written}${pngWritten ? ` and ${terminalText(paths.png)}` : ''}\n`);
}

export type { CorpusTotalsJson };
