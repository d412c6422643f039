/** `corpus merge`: the parts of a sharded run → exactly what one run over the whole file writes. */
import { readFileSync } from 'node:fs';
import type { CatDefinition } from '../../core/metrics/catScore';
import { InputError } from '../../core/pipeline';
import type { ExecutionDevice, ModelInfo } from '../../core/types';
import { option, parseArgs, UsageError } from '../args';
import type { Shard } from '../corpus/lines';
import {
  checkOutputs,
  printReport,
  writeReport,
  type CorpusInput,
  type CorpusReport,
  type ModelRun,
} from '../corpus/report';
import { CorpusTotals, type CorpusTotalsJson } from '../corpus/totals';

interface ModelPart {
  model: ModelInfo;
  device: ExecutionDevice | 'mixed';
  definition: CatDefinition;
  totals: CorpusTotalsJson;
}

interface PartFile extends Partial<ModelPart> {
  file: string;
  input: CorpusInput;
  shard?: Shard;
  partial?: unknown;
  models?: ModelPart[];
}

export async function corpusMergeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['out'], []);
  const out = option(args, 'out');
  if (!args.positional.length || !out)
    throw new UsageError('Usage: code-attention corpus merge PART.json... --out PREFIX');
  checkOutputs(out);
  const parts = args.positional.map((path) => ({ path, part: readPart(path) }));
  const first = parts[0].part;
  for (const { path, part } of parts) {
    if (part.partial)
      throw new InputError(`${path} is a partial result (its run was interrupted): finish it with --resume first.`);
    if (JSON.stringify(part.input) !== JSON.stringify(first.input)) {
      throw new InputError(
        `${path} was computed over another input or with other options than ${parts[0].path} (compare ` +
          `their "input" fields); only shards of one run merge.`,
      );
    }
  }
  // Shards 1..N of one N, each once; or whole runs cannot be merged with anything.
  const count = first.shard?.count ?? 1;
  const seen = new Set<number>();
  for (const { path, part } of parts) {
    const shard = part.shard ?? { index: 1, count: 1 };
    if (shard.count !== count)
      throw new InputError(
        `${path} is shard ${shard.index}/${shard.count}, but ${parts[0].path} is one of ${count}: ` +
          `merge the shards of one split.`,
      );
    if (seen.has(shard.index)) throw new InputError(`Shard ${shard.index}/${count} is given twice (${path}).`);
    seen.add(shard.index);
  }
  const missing = Array.from({ length: count }, (_, index) => index + 1).filter((index) => !seen.has(index));
  if (missing.length)
    throw new InputError(
      `Shards ${missing.map((index) => `${index}/${count}`).join(', ')} are missing: merge all ${count} shards.`,
    );

  const modelsOf = (part: PartFile): ModelPart[] => part.models ?? [part as ModelPart];
  const names = (part: PartFile) =>
    modelsOf(part)
      .map((model) => model.model?.name)
      .join(', ');
  for (const { path, part } of parts) {
    if (names(part) !== names(first))
      throw new InputError(`${path} holds the models ${names(part)}, but ${parts[0].path} holds ${names(first)}.`);
  }
  // Parts in shard order, so that nothing in the output depends on the order they were named in.
  const ordered = [...parts].sort((a, b) => (a.part.shard?.index ?? 1) - (b.part.shard?.index ?? 1));
  const runs: ModelRun[] = modelsOf(first).map((model, index) => {
    const totals = new CorpusTotals(model.totals.layers);
    const devices = new Set<string>();
    for (const { path, part } of ordered) {
      const entry = modelsOf(part)[index];
      try {
        totals.merge(CorpusTotals.fromJSON(entry.totals));
      } catch (error) {
        throw new InputError(
          `${path} has no readable totals for ${model.model.name} (${(error as Error).message}); it ` +
            `was not written by corpus.`,
        );
      }
      devices.add(entry.device);
    }
    return {
      info: model.model,
      device: devices.size === 1 ? model.device : 'mixed',
      definition: model.definition,
      totals,
    };
  });
  const report: CorpusReport = {
    file: first.file,
    input: first.input,
    runs,
    mergedFrom: ordered.map(({ path }) => path),
  };
  const written = await writeReport(out, report);
  printReport(report, out, written.png);
  return runs.every((run) => run.totals.catSnippets > 0) ? 0 : 1;
}

function readPart(path: string): PartFile {
  let part: PartFile;
  try {
    part = JSON.parse(readFileSync(path, 'utf8')) as PartFile;
  } catch (error) {
    throw new InputError(`Cannot read ${path} as a corpus result (${(error as Error).message}).`);
  }
  if (!part || typeof part !== 'object' || !part.input || !(part.totals || Array.isArray(part.models))) {
    throw new InputError(
      `${path} is not a corpus result with totals (write it with corpus --out PREFIX, then merge PREFIX.json).`,
    );
  }
  return part;
}
