/** A small PNG decoder for the tests (8-bit RGB or RGBA, not interlaced: what resvg writes), to read figures back. */
import { strict as assert } from 'node:assert';
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row after row. */
  rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  return toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
}

export function decodePng(png: Buffer): DecodedPng {
  assert.deepEqual(png.subarray(0, 8), SIGNATURE, 'the PNG signature');
  let offset = 8;
  let header: { width: number; height: number; bitDepth: number; colourType: number; interlace: number } | undefined;
  const data: Buffer[] = [];
  for (;;) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      assert.equal(offset, 8, 'IHDR is the first chunk');
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        bitDepth: body[8],
        colourType: body[9],
        interlace: body[12],
      };
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
    if (type === 'IEND') break;
  }
  assert.ok(header, 'an IHDR chunk');
  assert.equal(header.bitDepth, 8);
  assert.equal(header.interlace, 0);
  assert.ok(header.colourType === 6 || header.colourType === 2, `colour type ${header.colourType}`);
  const channels = header.colourType === 6 ? 4 : 3;
  const stride = header.width * channels;
  const raw = inflateSync(Buffer.concat(data));
  assert.equal(raw.length, header.height * (stride + 1), 'the image data fills the rows');
  const rows = new Uint8Array(header.height * stride);
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x];
      const left = x >= channels ? rows[y * stride + x - channels] : 0;
      const up = y > 0 ? rows[(y - 1) * stride + x] : 0;
      const upLeft = x >= channels && y > 0 ? rows[(y - 1) * stride + x - channels] : 0;
      let predicted: number;
      if (filter === 0) predicted = 0;
      else if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) predicted = paeth(left, up, upLeft);
      else throw new Error(`PNG filter type ${filter} does not exist`);
      rows[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  if (channels === 4) return { width: header.width, height: header.height, rgba: rows };
  const rgba = new Uint8Array(header.width * header.height * 4);
  for (let pixel = 0; pixel < header.width * header.height; pixel++) {
    rgba.set(rows.subarray(pixel * 3, pixel * 3 + 3), pixel * 4);
    rgba[pixel * 4 + 3] = 255;
  }
  return { width: header.width, height: header.height, rgba };
}

/** How many pixels are (nearly) the colour `#rrggbb`, opaque. */
export function pixelsOfColour(image: DecodedPng, hex: string, tolerance = 24): number {
  const [r, g, b] = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
  let count = 0;
  for (let at = 0; at < image.rgba.length; at += 4) {
    const close =
      Math.abs(image.rgba[at] - r) <= tolerance &&
      Math.abs(image.rgba[at + 1] - g) <= tolerance &&
      Math.abs(image.rgba[at + 2] - b) <= tolerance;
    if (close && image.rgba[at + 3] === 255) count++;
  }
  return count;
}
