import type { Analyzer } from '../core/pipeline';
import type { AnalysisResult } from '../core/types';
import type { settings } from './config';

/** An analysis of a document in flight. */
export interface InFlight {
  version: number;
  promise: Promise<AnalysisResult | undefined>;
  abort: AbortController;
  /** The pipeline's last progress message ("Running the model on window 3 of 13"). */
  progress?: string;
}

/** Whether a result was computed by this model under these definition settings (then it can be re-analysed). */
export function sameSetup(
  previous: AnalysisResult,
  analyzer: Analyzer,
  definition: ReturnType<typeof settings.analysisOptions>,
): boolean {
  const options = previous.options;
  return (
    previous.model.path === analyzer.model.info.path &&
    options.keepComments === definition.keepComments &&
    options.pairRule === definition.pairRule &&
    options.distance === definition.distance
  );
}

/**
 * One Output line per analysis: the wall time the user waited (queue, model load and all) beside
 * the time of each stage, so that a slow first analysis shows where the time went.
 */
export function analysisLog(file: string, version: number, result: AnalysisResult, wallMs: number): string {
  const t = result.timings;
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const stages = [
    `parse ${ms(t.parseMs + t.tokenizeMs)}`,
    `forward ${ms(t.forwardMs)} on ${result.device}`,
    `align ${ms(t.alignMs)}`,
    `metrics ${ms(t.metricsMs)}`,
    `waiting for the model and the event loop ${ms(Math.max(0, wallMs - t.totalMs))}`,
  ];
  const runs = result.windowRuns;
  const reused = runs?.reused ? ` (${runs.forward} run, ${runs.reused} unchanged since the last version)` : '';
  const size = `${result.tokens.length} tokens, ${result.windows.length} window(s)${reused}`;
  return `${file} v${version}: ${size}; ${ms(wallMs)} from request to result (${stages.join(', ')}).`;
}
