import { isAbsolute, join, resolve } from 'node:path';
import type { ModelEntry } from '../core/model';
import { labelText } from './escape';

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
  return models.map((model) => ({ label: labelText(model.displayName), description: labelText(model.path), path: model.path }));
}
