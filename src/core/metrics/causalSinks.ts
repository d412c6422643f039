import type { SinkReport, SinkHead, Tensor } from '../types';

export type { SinkReport, SinkHead } from '../types';
import { assertCausal } from './causal';

/**
 * Attention sinks (Xiao et al. 2023, StreamingLLM; Gu et al. 2024, "When Attention Sink Emerges in
 * Language Models"): decoders put a large share of attention on the first position whatever it
 * holds. As Gu et al. measure it, head h of layer l has a sink on the first token when
 *
 *   α^{l,h} = (1/T) Σ_{i=0}^{T−1} A^{l,h}[i][0]  >  ε  (ε = 0.3),
 *
 * the mean over all T queries that can see the first token (all of them, row 0 included) of the
 * attention they put on it; the sink rate is the share of the model's heads above ε. Computed on
 * the model's positions (subwords, special tokens included), since the sink is whatever token is
 * first, code or not. Chance level: uniform causal attention (row i spreads 1/(i + 1) over its
 * i + 1 positions) gives α = H_T / T with H_T the T-th harmonic number.
 */
export const SINK_THRESHOLD = 0.3;

/** Sums over rows, mergeable over windows. */
export interface SinkPartial {
  onFirst: number[][];
  chance: number;
  rows: number;
}

export function newSinkPartial(layers: number, heads: number): SinkPartial {
  return { onFirst: Array.from({ length: layers }, () => new Array<number>(heads).fill(0)), chance: 0, rows: 0 };
}

/** One window's sums from its causal attention [layers, heads, n, n]. */
export function sinkWindowPartial(attentions: Tensor): SinkPartial {
  assertCausal(attentions);
  const [layers, heads, n] = attentions.shape;
  const partial = newSinkPartial(layers, heads);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const base = (l * heads + h) * n * n;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += attentions.data[base + i * n];
      partial.onFirst[l][h] = sum;
    }
  }
  for (let i = 0; i < n; i++) partial.chance += 1 / (i + 1);
  partial.rows = n;
  return partial;
}

export function mergeSinkPartial(total: SinkPartial, part: SinkPartial): SinkPartial {
  part.onFirst.forEach((row, l) => row.forEach((value, h) => (total.onFirst[l][h] += value)));
  total.chance += part.chance;
  total.rows += part.rows;
  return total;
}

export function finishSinks(total: SinkPartial, threshold = SINK_THRESHOLD): SinkReport {
  const perHead = total.onFirst.map((row) => row.map((sum) => (total.rows ? sum / total.rows : NaN)));
  const sinkHeads: SinkHead[] = [];
  perHead.forEach((row, layer) =>
    row.forEach((share, head) => {
      if (share > threshold) sinkHeads.push({ layer, head, share });
    }),
  );
  sinkHeads.sort((a, b) => b.share - a.share || a.layer - b.layer || a.head - b.head);
  const headCount = perHead.reduce((count, row) => count + row.length, 0);
  return {
    definition:
      'mean attention on the first position over all rows (Gu et al. 2024); a head is a sink head above ' +
      `${threshold}; chance: uniform causal attention, H_T / T`,
    threshold,
    perHead,
    perLayer: perHead.map((row) => row.reduce((sum, value) => sum + value, 0) / row.length),
    chance: total.rows ? total.chance / total.rows : NaN,
    sinkHeads,
    sinkRate: headCount ? sinkHeads.length / headCount : NaN,
    rows: total.rows,
  };
}

/** The sink report of windows of causal attention, each [layers, heads, n, n]. */
export function attentionSinks(windows: readonly Tensor[], threshold = SINK_THRESHOLD): SinkReport {
  const [layers, heads] = windows.length ? windows[0].shape : [0, 0];
  const total = newSinkPartial(layers, heads);
  for (const attentions of windows) mergeSinkPartial(total, sinkWindowPartial(attentions));
  return finishSinks(total, threshold);
}

/**
 * The "hide the sink" view: each row's weight on `position` (the first, by default) set to 0 and
 * the rest renormalised to sum to 1, so what a row attends to besides the sink is on the same scale
 * in every row. Rows with nothing but the sink (row 0) become all zero: they have nothing else.
 */
export function hideSinkAndRenormalise(attentions: Tensor, position = 0): Tensor {
  const n = attentions.shape[attentions.shape.length - 1];
  const data = new Float32Array(attentions.data);
  for (let row = 0; row < data.length; row += n) {
    data[row + position] = 0;
    let rest = 0;
    for (let j = row; j < row + n; j++) rest += data[j];
    const scale = rest > 0 ? 1 / rest : 0;
    for (let j = row; j < row + n; j++) data[j] *= scale;
  }
  return { data, shape: attentions.shape.slice() };
}
