import type { SourcePosition, SourceRange } from './types';

/**
 * Converts UTF-16 offsets of a source string to VS Code line/character positions and to UTF-8
 * byte offsets. A line ends at CRLF, at a lone CR or at a lone LF, as in VS Code; an offset
 * between the CR and the LF of a CRLF is on the line the pair ends.
 */
export class LineIndex {
  private readonly lineStarts: number[] = [0];
  private byteOffsets: Uint32Array | undefined;

  constructor(private readonly source: string) {
    for (let i = 0; i < source.length; i++) {
      const code = source.charCodeAt(i);
      if (code === 10 || (code === 13 && source.charCodeAt(i + 1) !== 10)) this.lineStarts.push(i + 1);
    }
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  position(offset: number): SourcePosition {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low, character: offset - this.lineStarts[low] };
  }

  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(end) };
  }

  /** Length of a 0-based line in UTF-16 code units, without its line break (0 beyond the last line). */
  lineLength(line: number): number {
    if (line < 0 || line >= this.lineStarts.length) return 0;
    const start = this.lineStarts[line];
    let end = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] : this.source.length;
    if (end > start && line + 1 < this.lineStarts.length) end--;
    if (end > start && this.source.charCodeAt(end) === 10 && this.source.charCodeAt(end - 1) === 13) end--;
    return end - start;
  }

  /** UTF-16 offset of a line/character position (clamped to the text). */
  offsetAt(position: SourcePosition): number {
    const line = Math.min(Math.max(position.line, 0), this.lineStarts.length - 1);
    return Math.min(this.lineStarts[line] + Math.max(position.character, 0), this.source.length);
  }

  /** UTF-8 byte offset of a UTF-16 offset. */
  byteOffset(offset: number): number {
    this.byteOffsets ??= utf8Offsets(this.source);
    return this.byteOffsets[offset];
  }
}

function utf8Offsets(source: string): Uint32Array {
  const offsets = new Uint32Array(source.length + 1);
  let bytes = 0;
  for (let i = 0; i < source.length; i++) {
    offsets[i] = bytes;
    const code = source.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < source.length) {
      const next = source.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair is one 4-byte code point; its low half sits inside it.
        offsets[i + 1] = bytes + 4;
        bytes += 4;
        i++;
        continue;
      }
      bytes += 3;
    } else bytes += 3;
  }
  offsets[source.length] = bytes;
  return offsets;
}
