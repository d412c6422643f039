#!/usr/bin/env node
import { ModelLoadError } from '../core/model';
import { InputError } from '../core/pipeline';
import { UnsupportedLanguageError } from '../core/languages';
import { terminalText } from '../presenters/escape';
import { UsageError } from './args';
import { ANALYZE_USAGE, analyzeCommand } from './commands/analyze';
import { COMPARE_USAGE, compareCommand } from './commands/compare';
import { CONVERT_USAGE, convertCommand } from './commands/convert';
import { CORPUS_USAGE, corpusCommand } from './commands/corpus';

type Command = { run: (argv: string[]) => Promise<number>; usage: string };

/** Subcommands; each is a thin adapter over the core. */
export const COMMANDS: Record<string, Command> = {
  analyze: { run: analyzeCommand, usage: ANALYZE_USAGE },
  corpus: { run: corpusCommand, usage: CORPUS_USAGE },
  compare: { run: compareCommand, usage: COMPARE_USAGE },
  convert: { run: convertCommand, usage: CONVERT_USAGE },
};

function usage(): string {
  return [
    'Code Attention Lens — structure attention of code models',
    '',
    ...Object.values(COMMANDS).map((command) => '  ' + command.usage),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`Unknown command "${terminalText(name)}".\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      // Usage text spans lines; each line may quote what was typed.
      process.stderr.write(`${error.message.split('\n').map(terminalText).join('\n')}\n`);
      return 2;
    }
    if (error instanceof InputError || error instanceof ModelLoadError || error instanceof UnsupportedLanguageError) {
      // Messages quote file names, paths and manifest fields: no control characters reach the terminal.
      process.stderr.write(`error: ${terminalText(error.message)}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`internal error: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 70;
    },
  );
}
