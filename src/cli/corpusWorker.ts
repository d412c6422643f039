/**
 * A corpus worker process (forked by `corpus --workers N`): loads one model with its share of the
 * cores as intra-op threads, scores the chunks of lines it is sent and answers with their outcomes.
 * SIGINT goes to the whole process group at a terminal; the parent decides what happens then, so
 * the worker ignores it and stops when the parent says so or goes away.
 */
import { Analyzer } from '../core/pipeline';
import { ModelLoadError } from '../core/model';
import type { ExecutionProviderSetting, ModelInfo, ExecutionDevice } from '../core/types';
import { scoreItems, type CorpusItem, type ScoreSettings } from './corpus/score';
import type { SnippetOutcome } from './corpus/totals';

export type CorpusWorkerRequest =
  | { type: 'open'; modelDir: string; device: ExecutionProviderSetting; threads: number }
  | { type: 'score'; id: number; items: CorpusItem[]; settings: ScoreSettings };
export type CorpusWorkerReply =
  | { type: 'opened'; info: ModelInfo; device: ExecutionDevice; fallbackReason?: string }
  | { type: 'scored'; id: number; outcomes: SnippetOutcome[] }
  | { type: 'failed'; message: string; loadError: boolean };

if (require.main === module) {
  if (!process.send) throw new Error('corpusWorker.js runs only as a child process of the corpus command.');
  process.on('SIGINT', () => undefined);
  process.on('disconnect', () => process.exit(0));
  const send = (reply: CorpusWorkerReply) => process.send!(reply);
  let analyzer: Analyzer | undefined;
  const answer = async (request: CorpusWorkerRequest): Promise<void> => {
    try {
      if (request.type === 'open') {
        analyzer = await Analyzer.create({
          modelDir: request.modelDir,
          executionProvider: request.device,
          intraOpThreads: request.threads,
        });
        send({
          type: 'opened',
          info: analyzer.model.info,
          device: analyzer.model.device,
          fallbackReason: analyzer.model.fallbackReason,
        });
      } else {
        if (!analyzer) throw new Error('The corpus worker has no model open.');
        send({ type: 'scored', id: request.id, outcomes: await scoreItems(analyzer, request.items, request.settings) });
      }
    } catch (error) {
      send({ type: 'failed', message: (error as Error).message, loadError: error instanceof ModelLoadError });
    }
  };
  process.on('message', (request: CorpusWorkerRequest) => void answer(request));
}
