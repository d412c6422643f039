/**
 * How long the thread that runs an analysis stops answering, measured as the extension host runs
 * it: the model in its own process (`thread: 'process'`), the editor's analysis (per-layer reports)
 * of a ~60 KB real Python file, then the score panel's step (every per-head report, then the panel
 * model). A 1 ms interval timer records each gap between its ticks: the longest gap in wall time,
 * and the longest in CPU time of this process (which a loaded machine does not stretch). Prints
 * one JSON line. Usage:
 *   node dist/freeze-probe.js [--model DIR] [--source FILE] [--grammars DIR]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Analyzer, completeScoresStepwise } from '../core/pipeline';
import { panelModel } from '../presenters/panel';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const root = join(__dirname, '..');

/** About 60 KB of real Python: a standard-library module of that size, else the examples repeated. */
function sixtyKilobytesOfPython(): { text: string; origin: string } {
  const module = ['/usr/lib/python3.11/ast.py', '/usr/lib/python3.12/ast.py', '/usr/lib/python3.13/ast.py'].find(
    existsSync,
  );
  if (module) return { text: readFileSync(module, 'utf8'), origin: module };
  const example = readFileSync(join(root, 'examples', 'lru_cache.py'), 'utf8');
  const copies = Math.ceil(60_000 / Buffer.byteLength(example));
  return { text: Array.from({ length: copies }, () => example).join('\n'), origin: 'examples/lru_cache.py, repeated' };
}

/** The longest gaps between ticks of a 1 ms timer while it runs. */
class EventLoopProbe {
  private readonly timer: NodeJS.Timeout;
  private lastTick = performance.now();
  private lastCpu = process.cpuUsage();
  longestWallMs = 0;
  longestCpuMs = 0;
  ticks = 0;

  constructor() {
    this.timer = setInterval(() => {
      const now = performance.now();
      const cpu = process.cpuUsage(this.lastCpu);
      this.longestWallMs = Math.max(this.longestWallMs, now - this.lastTick);
      this.longestCpuMs = Math.max(this.longestCpuMs, (cpu.user + cpu.system) / 1000);
      this.ticks++;
      this.lastTick = now;
      this.lastCpu = process.cpuUsage();
    }, 1);
  }

  /** Stops after one more turn, so that a block at the very end is counted too. */
  async stop(): Promise<{ longestWallMs: number; longestCpuMs: number; ticks: number }> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    clearInterval(this.timer);
    return { longestWallMs: this.longestWallMs, longestCpuMs: this.longestCpuMs, ticks: this.ticks };
  }
}

async function main(): Promise<void> {
  const modelDir = resolve(option('--model') ?? join(root, 'models', 'code-attention-mini'));
  const source = option('--source');
  const { text, origin } = source ? { text: readFileSync(source, 'utf8'), origin: source } : sixtyKilobytesOfPython();
  const analyzer = await Analyzer.create({
    modelDir,
    executionProvider: 'cpu',
    grammarsDir: option('--grammars'),
    thread: 'process',
  });
  try {
    // A small file first, as a session's first analysis loads the grammar and warms the model.
    await analyzer.analyze('def first(x):\n    return x\n', 'python');
    const analysisProbe = new EventLoopProbe();
    const started = performance.now();
    const result = await analyzer.analyze(text, 'python', { reports: ['catLayers', 'dataFlowLayers'] });
    const analysisMs = performance.now() - started;
    const analysis = await analysisProbe.stop();
    const panelProbe = new EventLoopProbe();
    const panelStarted = performance.now();
    await completeScoresStepwise(result, 'all');
    panelModel(result);
    const panelMs = performance.now() - panelStarted;
    const panel = await panelProbe.stop();
    const forwardPasses = result.windowRuns?.forward ?? result.windows.length;
    console.log(
      JSON.stringify({
        origin,
        bytes: Buffer.byteLength(text),
        windows: result.windows.length,
        oneForwardMs: result.timings.forwardMs / forwardPasses,
        analysisMs,
        analysis,
        panelMs,
        panel,
      }),
    );
  } finally {
    await analyzer.dispose();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
