import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers';

const SCRIPT = join(ROOT, 'scripts', 'check-cycles.mjs');

function checkCycles(cwd: string, ...folders: string[]) {
  const run = spawnSync(process.execPath, [SCRIPT, ...folders], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('check-cycles script', function () {
  this.timeout(60_000);
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'cal-cycles-'));
    mkdirSync(join(scratch, 'lib', 'metrics'), { recursive: true });
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('fails and names the files of a cycle made only of type imports', () => {
    writeFileSync(join(scratch, 'lib', 'types.ts'), "export interface R { score?: import('./metrics/score').Score }\n");
    const score = "import type { R } from '../types';\nexport type Score = R[];\n";
    writeFileSync(join(scratch, 'lib', 'metrics', 'score.ts'), score);
    writeFileSync(join(scratch, 'lib', 'leaf.ts'), "import type { R } from './types';\nexport const r: R = {};\n");
    const run = checkCycles(scratch, 'lib');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /import cycle: lib\/metrics\/score\.ts -> lib\/types\.ts -> lib\/metrics\/score\.ts/);
    assert.doesNotMatch(run.stderr, /leaf\.ts/);
  });

  it('follows re-exports and index files, and passes once the cycle is broken', () => {
    writeFileSync(join(scratch, 'lib', 'metrics', 'index.ts'), "export { a } from '../a';\nexport const m = 1;\n");
    writeFileSync(join(scratch, 'lib', 'a.ts'), "import { m } from './metrics';\nexport const a = m;\n");
    const cyclic = checkCycles(scratch, 'lib');
    assert.equal(cyclic.code, 1, cyclic.stdout + cyclic.stderr);
    assert.match(cyclic.stderr, /lib\/a\.ts -> lib\/metrics\/index\.ts -> lib\/a\.ts/);
    writeFileSync(join(scratch, 'lib', 'metrics', 'index.ts'), 'export const m = 1;\n');
    const broken = checkCycles(scratch, 'lib');
    assert.equal(broken.code, 0, broken.stderr);
    assert.match(broken.stdout, /no import cycle among 2 files/);
  });

  it('refuses a folder that does not exist with a usage message', () => {
    const run = checkCycles(scratch, 'missing');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /not a folder: missing/);
  });

  it('finds no cycle in src/ and webview/', () => {
    const run = checkCycles(ROOT);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /no import cycle among \d+ files/);
  });
});
