import type { AnalysisResult, CodeToken } from '../types';

/**
 * Head statistics in the style of Clark et al. 2019 ("What does BERT look at?"), per layer and
 * head, averaged over every code-token subword row of every window:
 * - attention mass on `<s>` and on `</s>` (attention sinks), and on punctuation tokens;
 * - mean row entropy (nats);
 * - positional behaviour: mass on the previous and on the next subword.
 */
export interface HeadStatistics {
  /** [layer][head] */
  bos: number[][];
  eos: number[][];
  punctuation: number[][];
  entropy: number[][];
  previous: number[][];
  next: number[][];
  /** Per layer, means over heads. */
  perLayer: { bos: number[]; eos: number[]; punctuation: number[]; entropy: number[]; previous: number[]; next: number[] };
  rows: number;
}

export function isPunctuation(token: CodeToken): boolean {
  return /^[^\p{L}\p{N}_$@"'`]+$/u.test(token.text);
}

export function headStatistics(result: AnalysisResult): HeadStatistics {
  const { layers, heads } = result.model;
  const make = () => Array.from({ length: layers }, () => new Array<number>(heads).fill(0));
  const stats = { bos: make(), eos: make(), punctuation: make(), entropy: make(), previous: make(), next: make() };
  let rows = 0;
  for (const window of result.windows) {
    const n = window.ids.length;
    const punctuationColumns: number[] = [];
    for (let j = 0; j < n; j++) {
      const owner = window.tokenOfSubword[j];
      if (owner >= 0 && isPunctuation(result.tokens[owner])) punctuationColumns.push(j);
    }
    for (let i = 1; i < n - 1; i++) {
      rows++;
      for (let l = 0; l < layers; l++) {
        for (let h = 0; h < heads; h++) {
          const base = ((l * heads + h) * n + i) * n;
          const row = window.subwordAttention.data;
          stats.bos[l][h] += row[base];
          stats.eos[l][h] += row[base + n - 1];
          stats.previous[l][h] += row[base + i - 1];
          stats.next[l][h] += row[base + i + 1];
          let punctuation = 0;
          for (const j of punctuationColumns) punctuation += row[base + j];
          stats.punctuation[l][h] += punctuation;
          let entropy = 0;
          for (let j = 0; j < n; j++) {
            const p = row[base + j];
            if (p > 0) entropy -= p * Math.log(p);
          }
          stats.entropy[l][h] += entropy;
        }
      }
    }
  }
  const mean = (matrix: number[][]) => matrix.map((row) => row.map((value) => (rows ? value / rows : NaN)));
  const averaged = {
    bos: mean(stats.bos),
    eos: mean(stats.eos),
    punctuation: mean(stats.punctuation),
    entropy: mean(stats.entropy),
    previous: mean(stats.previous),
    next: mean(stats.next),
  };
  const layerMean = (matrix: number[][]) => matrix.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
  return {
    ...averaged,
    perLayer: {
      bos: layerMean(averaged.bos),
      eos: layerMean(averaged.eos),
      punctuation: layerMean(averaged.punctuation),
      entropy: layerMean(averaged.entropy),
      previous: layerMean(averaged.previous),
      next: layerMean(averaged.next),
    },
    rows,
  };
}
