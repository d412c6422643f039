import { completeScores } from './pipeline';
import { tokenAttentionRow } from './views';
import type { AnalysisResult } from './types';

export interface ComparedModel {
  name: string;
  displayName: string;
  layers: number;
  heads: number;
  /** A decoder: its CAT and data flow are the causal versions (j ≤ i, backward edges). */
  causal: boolean;
  /** Relative depth of each layer: (l + 1) / layers, so models of different depth line up. */
  depth: number[];
  cat: number[];
  baseline: number[];
  /** [layer][head] */
  heatmap: number[][];
  /**
   * Per layer, share of attention on data-flow edges and its offset-matched baseline; absent without a data-flow graph.
   */
  dataFlow?: { score: number[]; baseline: number[]; perHead: number[][] };
}

export interface ModelComparison {
  file?: string;
  language: string;
  a: ComparedModel;
  b: ComparedModel;
  /** True when the layer counts differ: curves are compared on relative depth. */
  relativeDepth: boolean;
  note: string;
  /** Per code token: mean attention it receives in the last layer (mean over heads), b − a. */
  receivedDifference: number[];
}

function compared(result: AnalysisResult): ComparedModel {
  const scores = completeScores(result, ['cat', 'dataFlow']);
  const cat = scores.cat!;
  const { layers, heads } = result.model;
  return {
    name: result.model.name,
    displayName: result.model.displayName,
    layers,
    heads,
    causal: result.causal === true,
    depth: Array.from({ length: layers }, (_, l) => (l + 1) / layers),
    cat: [...cat.score.perLayer],
    baseline: [...cat.baseline.perLayer],
    heatmap: cat.score.perHead.map((row) => [...row]),
    ...(scores.dataFlow
      ? {
          dataFlow: {
            score: [...scores.dataFlow.score.perLayer],
            baseline: [...scores.dataFlow.baseline.perLayer],
            perHead: scores.dataFlow.score.perHead.map((row) => [...row]),
          },
        }
      : {}),
  };
}

/** Mean attention each code token receives in the last layer (mean over heads and attending tokens of its window). */
export function receivedAttention(result: AnalysisResult): number[] {
  const received = new Array<number>(result.tokens.length).fill(0);
  const last = result.model.layers - 1;
  for (const window of result.windows) {
    const m = window.tokenEnd - window.tokenStart;
    // A decoder window's prefix tokens are scored (and counted) in the window before it.
    for (let t = window.scoredStart ?? window.tokenStart; t < window.tokenEnd; t++) {
      const { weights } = tokenAttentionRow(result, { mode: 'meanHeads', layer: last, direction: 'attendedBy' }, t);
      let sum = 0;
      for (let s = window.tokenStart; s < window.tokenEnd; s++) sum += weights[s];
      received[t] = sum / m;
    }
  }
  return received;
}

/**
 * Compares two analyses of the same source by different models. The two must cover the same code
 * tokens (same file, same parse options); windows may differ since tokenizers may differ.
 */
export function compareAnalyses(a: AnalysisResult, b: AnalysisResult): ModelComparison {
  if (a.source.text !== b.source.text || a.tokens.length !== b.tokens.length)
    throw new Error('Both analyses must be of the same text with the same options.');
  const relativeDepth = a.model.layers !== b.model.layers;
  const receivedA = receivedAttention(a);
  const receivedB = receivedAttention(b);
  return {
    file: a.source.path,
    language: a.source.language,
    a: compared(a),
    b: compared(b),
    relativeDepth,
    note:
      (relativeDepth
        ? `The models have ${a.model.layers} and ${b.model.layers} layers: layers are compared on ` +
          `relative depth (layer l of L sits at (l + 1) / L).`
        : `Both models have ${a.model.layers} layers: layers are compared one to one.`) + causalNote(a, b),
    receivedDifference: receivedB.map((value, token) => value - receivedA[token]),
  };
}

/** Which of the two models is causal, when any is: their CAT-scores are then on different supports. */
function causalNote(a: AnalysisResult, b: AnalysisResult): string {
  const kind = (result: AnalysisResult) =>
    result.causal
      ? `a decoder (causal CAT on pairs j ≤ i, data flow on backward edges)`
      : 'an encoder (CAT on all pairs, every data-flow edge)';
  if (!a.causal && !b.causal) return '';
  return (
    ` ${a.model.displayName} is ${kind(a)}; ${b.model.displayName} is ${kind(b)}. Each score is read against its own ` +
    'baseline.'
  );
}
