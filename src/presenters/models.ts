import { isAbsolute, join, resolve } from 'node:path';

/**
 * Where a folder from the `codeAttention.models` setting points: `~` expands to the home folder,
 * relative paths are taken from the first workspace folder (or the home folder without one).
 */
export function resolveModelFolder(configured: string, home: string, workspaceRoot?: string): string {
  const trimmed = configured.trim();
  if (trimmed === '~') return home;
  if (trimmed.startsWith('~/')) return join(home, trimmed.slice(2));
  if (isAbsolute(trimmed)) return resolve(trimmed);
  return resolve(workspaceRoot ?? home, trimmed);
}
