import { isAbsolute, join, resolve } from 'node:path';
import type { ModelEntry } from '../core/model';
import { labelText, messageText } from './escape';

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

/** The model folders of the `codeAttention.models` setting, and a message for each entry that is not a usable path. */
export interface ModelFolderSetting {
  folders: string[];
  problems: string[];
}

/**
 * Reads the `codeAttention.models` setting as the user wrote it (settings.json is not held to the
 * schema): an array of non-empty path strings. Anything else is left out with a message naming it;
 * an empty entry would otherwise mean the workspace folder itself.
 */
export function modelFoldersFromSetting(value: unknown, home: string, workspaceRoot?: string): ModelFolderSetting {
  if (value === undefined || value === null) return { folders: [], problems: [] };
  if (!Array.isArray(value)) {
    const problem = `"codeAttention.models" must be a list of folder paths; it is ${describe(value)}.`;
    return { folders: [], problems: [messageText(problem)] };
  }
  const folders: string[] = [];
  const problems: string[] = [];
  value.forEach((entry, index) => {
    const entryName = `"codeAttention.models" entry ${index + 1}`;
    const what = 'give the path of a model folder.';
    if (typeof entry !== 'string' || !entry.trim()) problems.push(`${entryName} is ${describe(entry)}; ${what}`);
    else if (entry.includes('\u0000')) problems.push(`${entryName} contains a NUL character; ${what}`);
    else folders.push(resolveModelFolder(entry, home, workspaceRoot));
  });
  return { folders: [...new Set(folders)], problems: problems.map(messageText) };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value.trim() ? JSON.stringify(value) : 'empty';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value) ?? ''}`.trim();
}

/** A model of the QuickPick that selects one: its folder travels with the item. */
export interface ModelPickItem {
  label: string;
  description: string;
  detail?: string;
  path: string;
}

/**
 * QuickPick items for the model picker: display name (from the model's manifest, shown literally),
 * bundled checkpoint or folder, and which one is current.
 */
export function modelPickItems(models: readonly ModelEntry[], currentPath?: string): ModelPickItem[] {
  return models.map((model) => ({
    label: labelText(model.displayName),
    description: labelText(model.checkpoint === 'external' ? model.path : `bundled · ${model.checkpoint}`),
    detail: model.path === currentPath ? 'current' : undefined,
    path: model.path,
  }));
}

/** QuickPick items for "Compare Models": display name and folder, shown literally. */
export function comparePickItems(models: readonly ModelEntry[]): ModelPickItem[] {
  return models.map((model) => ({
    label: labelText(model.displayName),
    description: labelText(model.path),
    path: model.path,
  }));
}
