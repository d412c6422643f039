import type { AnalysisResult, HeadStatistics, SinkReport } from '../core/types';
import { formatNumber, table } from './format';

/** The heads listed in the sink table at most (all sink heads are in `--json`). */
const SINK_ROWS = 12;

/** The header of a decoder's CAT section: what the causal score and its baseline are. */
export function causalCatLines(result: AnalysisResult): string[] {
  const cat = result.scores.cat;
  if (!cat) return [];
  const d = cat.definition;
  return [
    `causal CAT (j ≤ i, decoder): ${d.attentionThreshold}; ${d.distanceThreshold} (${d.distance} distance); ` +
      `pair rule ${d.pairRule}; layer = mean over heads`,
    `         thresholds: distance < ${formatNumber(cat.thresholds.distance)}` +
      `${cat.snippets > 1 ? ' (mean over windows)' : ''}; attention > the per-layer value below; ` +
      `${cat.pairs} token pairs on the causal support; rows of window prefixes not scored`,
  ];
}

/** The backward data-flow line of a decoder. */
export function causalDataFlowTitle(result: AnalysisResult): string | undefined {
  const dataFlow = result.scores.dataFlow;
  if (!result.causal || !dataFlow) return undefined;
  return (
    `Data flow on backward edges (decoder): ${dataFlow.backwardEdges ?? 0} backward edges scored, ` +
    `${dataFlow.forwardEdges ?? 0} forward edges left out, ${dataFlow.tokens} uses; ${dataFlow.definition}`
  );
}

/** The sink report: each layer's mean share on the first position and the heads above the threshold, vs chance. */
export function sinkLines(sinks: SinkReport): string[] {
  const chance = sinks.chance;
  const heads = sinks.sinkHeads.slice(0, SINK_ROWS);
  return [
    '',
    `Attention sinks: ${sinks.definition}`,
    `         chance (uniform causal attention over the same rows, mean of 1/(i + 1)): ${formatNumber(chance)}; ` +
      `${sinks.sinkHeads.length} of ${sinks.perHead.length * (sinks.perHead[0]?.length ?? 0)} heads above ` +
      `${sinks.threshold} (sink rate ${formatNumber(sinks.sinkRate)}), ${sinks.rows} rows`,
    table(
      ['layer', 'share on first', 'chance', 'ratio'],
      sinks.perLayer.map((share, layer) => [String(layer), share, chance, share / chance]),
    ),
    ...(heads.length
      ? [
          table(
            ['sink head', 'share on first', 'chance', 'ratio'],
            heads.map((head) => [`L${head.layer}H${head.head}`, head.share, chance, head.share / chance]),
          ),
          ...(sinks.sinkHeads.length > SINK_ROWS
            ? [`         … ${sinks.sinkHeads.length - SINK_ROWS} more in --json`]
            : []),
        ]
      : [`         no head puts more than ${sinks.threshold} of its attention on the first position`]),
  ];
}

/** A decoder's head statistics per layer, each against its level under uniform causal attention. */
export function causalHeadStatisticsLines(stats: HeadStatistics): string[] {
  const chance = stats.causal!.chance;
  const perLayer = stats.perLayer;
  return [
    '',
    'Attention per layer, causal (j ≤ i, decoder; means over heads and the scored code-token rows): mass on ' +
      'the first position (bos), on punctuation and on the previous subword; row entropy (nats)',
    `         chance: uniform causal attention over each row's i + 1 positions (entropy: mean ln(i + 1)); ` +
      `${stats.rows} rows; no </s> and no next subword in a decoder`,
    table(
      ['layer', 'first pos.', 'chance', 'punct.', 'chance', 'previous', 'chance', 'entropy', 'uniform'],
      perLayer.bos.map((_, layer) => [
        String(layer),
        perLayer.bos[layer],
        chance.bos,
        perLayer.punctuation[layer],
        chance.punctuation,
        perLayer.previous[layer],
        chance.previous,
        perLayer.entropy[layer],
        chance.entropy,
      ]),
    ),
  ];
}
