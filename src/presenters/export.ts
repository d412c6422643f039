/** The bytes of a `data:image/png;base64,…` URL sent by a webview's chart, or undefined if it is not one. */
export function pngFromDataUrl(dataUrl: string): Uint8Array | undefined {
  const match = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl);
  return match ? Buffer.from(match[1], 'base64') : undefined;
}

/** A default file name for an export: the analysed file's stem, a suffix, an extension ("lru_cache-scores.csv"). */
export function exportFileName(file: string | undefined, suffix: string, extension: string): string {
  const stem = (file ?? 'analysis').replace(/\.[^.]+$/, '') || 'analysis';
  return `${stem}-${suffix.replace(/[^A-Za-z0-9-]/g, '')}.${extension}`;
}
