import { basename } from 'node:path';
import { completeScores } from '../core/pipeline';
import {
  isCausalStructureReport,
  relationLabel,
  topHeads,
  bestOffset,
  type StructureRelation,
} from '../core/metrics/structureHeads';
import type { AnalysisResult } from '../core/types';
import type { PanelModel } from '../protocol/panel';
import type { CatDefinition } from '../core/metrics/catScore';
import { DEFAULT_PRESET } from '../core/presets';

function keptTypesText(definition: CatDefinition): string {
  if (definition.keptTypesPerLayer) {
    const perLayer = definition.keptTypesPerLayer.map(
      (types, layer) => `layer ${layer}: ${types.join(' ') || '(none)'}`,
    );
    return perLayer.join('; ');
  }
  return definition.keptTypes === 'all' ? 'all types' : definition.keptTypes.join(' ');
}

/**
 * What the score panel receives for an analysis: one row per layer, a layer × head heatmap, the
 * definition. A partial result (windows still in flight) gives the per-layer scores summed over the
 * windows done so far, against their baselines, and no per-head report: those need every window and
 * come with the complete result, so nothing is computed here that a later window would change.
 */
export function panelModel(result: AnalysisResult): PanelModel {
  const scores = result.partial ? result.scores : completeScores(result);
  const cat = scores.cat;
  const perHead = cat?.headsScored ? cat : undefined;
  const stats = scores.headStatistics;
  const layers = result.model.layers;
  const heads = scores.structureHeads;
  return {
    file: result.source.path ? basename(result.source.path) : '(untitled)',
    language: result.source.language,
    version: result.source.version,
    model: { name: result.model.name, displayName: result.model.displayName, layers, heads: result.model.heads },
    device: result.device,
    tokens: result.tokens.length,
    windows: result.partial?.windowsTotal ?? result.windows.length,
    ...(result.partial && { partial: { ...result.partial } }),
    timings: { ...result.timings },
    layers: Array.from({ length: layers }, (_, layer) => ({
      layer,
      cat: cat?.score.perLayer[layer] ?? NaN,
      baseline: cat?.baseline.perLayer[layer] ?? NaN,
      dataFlow: scores.dataFlow?.score.perLayer[layer] ?? NaN,
      dataFlowBaseline: scores.dataFlow?.baseline.perLayer[layer] ?? NaN,
      bos: stats?.perLayer.bos[layer] ?? NaN,
      eos: stats?.perLayer.eos[layer] ?? NaN,
      punctuation: stats?.perLayer.punctuation[layer] ?? NaN,
      entropy: stats?.perLayer.entropy[layer] ?? NaN,
    })),
    heatmap: perHead?.score.perHead.map((row) => [...row]) ?? [],
    heatmapBaseline: perHead?.baseline.perHead.map((row) => [...row]) ?? [],
    definition: {
      preset: cat?.definition.preset ?? result.options.preset ?? DEFAULT_PRESET,
      choices: [...(cat?.definition.choices ?? [])],
      keptTypes: cat ? keptTypesText(cat.definition) : '',
      typeSource: cat?.definition.typeSource ?? '',
      attentionThreshold: cat?.definition.attentionThreshold ?? '',
      distanceThreshold: cat?.definition.distanceThreshold ?? '',
      distance: cat?.definition.distance ?? '',
      pairRule: cat?.definition.pairRule ?? '',
      baseline: cat?.definition.baseline ?? '',
    },
    structureHeads: heads
      ? (Object.keys(heads.relations) as StructureRelation[]).map((relation) => {
          const best = topHeads(heads, relation, 3);
          const offset = bestOffset(heads.relations[relation]!);
          return {
            relation: relationLabel(relation, heads),
            heads: best.map(({ layer, head, accuracy }) => ({ layer, head, accuracy })),
            chance: best[0]?.chance ?? NaN,
            ...(offset ? { fixedOffset: { offset: offset.offset, accuracy: offset.share } } : {}),
          };
        })
      : [],
    warnings: [...result.warnings],
    ...(result.causal ? { causal: causalSection(result, scores) } : {}),
  };
}

/** Causal CAT's label, as every view of a decoder's scores shows it. */
export const CAUSAL_CAT_LABEL = 'causal CAT (j ≤ i)';

function causalSection(result: AnalysisResult, scores: AnalysisResult['scores']): NonNullable<PanelModel['causal']> {
  const sinks = scores.sinks;
  const stats = scores.headStatistics?.causal && scores.headStatistics;
  const heads = scores.structureHeads;
  return {
    label: CAUSAL_CAT_LABEL,
    definition: result.scores.cat?.definition.causal ?? '',
    backwardEdges: result.scores.dataFlow?.backwardEdges ?? 0,
    forwardEdges: result.scores.dataFlow?.forwardEdges ?? 0,
    ...(sinks
      ? {
          sinks: {
            definition: sinks.definition,
            perLayer: [...sinks.perLayer],
            chance: sinks.chance,
            threshold: sinks.threshold,
            sinkRate: sinks.sinkRate,
            heads: sinks.sinkHeads.map(({ layer, head, share }) => ({ layer, head, share })),
          },
        }
      : {}),
    ...(stats
      ? {
          headStatistics: {
            definition: stats.causal!.definition,
            previous: [...stats.perLayer.previous],
            chance: { ...stats.causal!.chance },
          },
        }
      : {}),
    ...(heads && isCausalStructureReport(heads) ? { structureHeads: heads.definition } : {}),
  };
}

/**
 * Column names of the CAT and data-flow scores: a decoder's are causal CAT (j ≤ i) and the share on
 * backward data-flow edges, which are other quantities than an encoder's and are named so.
 */
function scoreColumns(model: PanelModel): { cat: string; dfg: string } {
  return model.causal ? { cat: 'causal_cat', dfg: 'backward_dfg' } : { cat: 'cat', dfg: 'dfg' };
}

/** The per-layer table as CSV (what "Export CSV" saves). */
export function panelCsv(model: PanelModel): string {
  const { cat, dfg } = scoreColumns(model);
  const header =
    `layer,${cat}_score,baseline,${dfg}_share,${dfg}_baseline,` +
    'attention_to_bos,attention_to_eos,attention_to_punctuation,entropy';
  const rows = model.layers.map((row) =>
    [
      row.layer,
      row.cat,
      row.baseline,
      row.dataFlow,
      row.dataFlowBaseline,
      row.bos,
      row.eos,
      row.punctuation,
      row.entropy,
    ]
      .map((value) => (Number.isFinite(value) ? String(+value.toFixed(6)) : ''))
      .join(','),
  );
  const heads = model.heatmap.flatMap((row, layer) =>
    row.map((value, head) => `${layer},${head},${Number.isFinite(value) ? +value.toFixed(6) : ''}`),
  );
  return [header, ...rows, '', `layer,head,${cat}_score`, ...heads].join('\n') + '\n';
}

const csvNumber = (value: number) => (Number.isFinite(value) ? String(+value.toFixed(6)) : '');

/** One tidy CSV file of an export: a file-name suffix and its rows (one observation per row). */
export interface CsvFile {
  suffix: string;
  content: string;
}

/**
 * The score panel's numbers as tidy CSV files: one row per layer (scores with their baselines)
 * and one row per layer × head (CAT-score, its baseline and the difference), so that each loads
 * directly into a data frame.
 */
export function panelCsvFiles(model: PanelModel): CsvFile[] {
  const { cat, dfg } = scoreColumns(model);
  const layerHeader =
    `model,file,layer,${cat}_score,${cat}_baseline,${dfg}_share,${dfg}_baseline,` +
    'attention_to_bos,attention_to_eos,attention_to_punctuation,entropy';
  const quoted = (text: string) => `"${text.replace(/"/g, '""')}"`;
  const prefix = `${quoted(model.model.name)},${quoted(model.file)}`;
  const layers = model.layers.map((row) =>
    [
      prefix,
      row.layer,
      ...[
        row.cat,
        row.baseline,
        row.dataFlow,
        row.dataFlowBaseline,
        row.bos,
        row.eos,
        row.punctuation,
        row.entropy,
      ].map(csvNumber),
    ].join(','),
  );
  const heads = model.heatmap.flatMap((row, layer) =>
    row.map((score, head) => {
      const baseline = model.heatmapBaseline[layer]?.[head] ?? NaN;
      return [prefix, layer, head, csvNumber(score), csvNumber(baseline), csvNumber(score - baseline)].join(',');
    }),
  );
  return [
    { suffix: 'layers', content: [layerHeader, ...layers].join('\n') + '\n' },
    {
      suffix: 'heads',
      content: [`model,file,layer,head,${cat}_score,${cat}_baseline,${cat}_minus_baseline`, ...heads].join('\n') + '\n',
    },
  ];
}
