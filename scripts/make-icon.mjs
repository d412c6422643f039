// Draws the extension's icon (media/icon.png, 128×128 RGBA): lines of code as token bars shaded by
// attention weight, the focused token outlined, and arcs to the tokens it attends to most. Plain
// Node: shapes are sampled 4×4 per pixel and the PNG is written with zlib.
// Usage: node scripts/make-icon.mjs [OUT.png]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(root, 'media', 'icon.png');
const SIZE = 128;
const SAMPLES = 4;

const background = [27, 31, 42];
const blue = [55, 148, 255];
const focus = [255, 204, 0];
/** Token bars per line: [x, width, attention weight 0–1]; the focused token is marked. */
const lines = [
  [
    [18, 22, 0.25],
    [44, 34, 0.9],
    [82, 26, 0.35],
  ],
  [
    [28, 18, 0.2],
    [50, 40, 0.55, 'focus'],
    [94, 16, 0.2],
  ],
  [
    [28, 30, 0.45],
    [62, 14, 0.15],
    [80, 30, 0.7],
  ],
  [
    [18, 26, 0.15],
    [48, 20, 0.3],
    [72, 36, 0.2],
  ],
];
const LINE_Y = [30, 52, 74, 96];
const BAR_HEIGHT = 11;
const bars = lines.flatMap((line, row) =>
  line.map(([x, width, weight, mark]) => ({ x, y: LINE_Y[row], width, weight, focus: mark === 'focus' })),
);
const focused = bars.find((bar) => bar.focus);
// Arcs from the focused token to the two it attends to most (the weights above).
const targets = bars
  .filter((bar) => !bar.focus)
  .sort((a, b) => b.weight - a.weight)
  .slice(0, 2);
const arcs = targets.map((target) => {
  // From the focused token's right end, bulging out to the right, to the target's right end.
  const [x0, y0] = [focused.x + focused.width, focused.y + BAR_HEIGHT / 2];
  const [x1, y1] = [target.x + target.width, target.y + BAR_HEIGHT / 2];
  const control = [Math.max(x0, x1) + 18, (y0 + y1) / 2];
  return Array.from({ length: 65 }, (_, step) => {
    const t = step / 64;
    return [
      (1 - t) ** 2 * x0 + 2 * (1 - t) * t * control[0] + t * t * x1,
      (1 - t) ** 2 * y0 + 2 * (1 - t) * t * control[1] + t * t * y1,
    ];
  });
});

const insideRoundedRect = (px, py, x, y, width, height, radius) => {
  const cx = Math.min(Math.max(px, x + radius), x + width - radius);
  const cy = Math.min(Math.max(py, y + radius), y + height - radius);
  return (px - cx) ** 2 + (py - cy) ** 2 <= radius * radius;
};
const distanceToPolyline = (px, py, points) => {
  let best = Infinity;
  for (let index = 1; index < points.length; index++) {
    const [ax, ay] = points[index - 1];
    const [bx, by] = points[index];
    const t = Math.max(
      0,
      Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2 || 1)),
    );
    best = Math.min(best, Math.hypot(px - ax - t * (bx - ax), py - ay - t * (by - ay)));
  }
  return best;
};
const blend = (under, over, alpha) => under.map((channel, index) => channel + (over[index] - channel) * alpha);

/** The colour and coverage of one sample point. */
function sample(px, py) {
  if (!insideRoundedRect(px, py, 0, 0, SIZE, SIZE, 26)) return [0, 0, 0, 0];
  let colour = background;
  // Arcs first, so that the bars they join sit on top of their ends.
  for (const arc of arcs) if (distanceToPolyline(px, py, arc) <= 1.8) colour = blend(colour, focus, 0.85);
  for (const bar of bars) {
    if (bar.focus && insideRoundedRect(px, py, bar.x - 3, bar.y - 3, bar.width + 6, BAR_HEIGHT + 6, 7)) colour = focus;
    if (insideRoundedRect(px, py, bar.x, bar.y, bar.width, BAR_HEIGHT, 4))
      colour = blend(background, blue, 0.2 + 0.8 * bar.weight);
  }
  return [...colour, 255];
}

const pixels = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  pixels[y * (SIZE * 4 + 1)] = 0; // PNG filter type "none" for this scanline
  for (let x = 0; x < SIZE; x++) {
    const sum = [0, 0, 0, 0];
    for (let sy = 0; sy < SAMPLES; sy++) {
      for (let sx = 0; sx < SAMPLES; sx++) {
        const [r, g, b, a] = sample(x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES);
        // Premultiplied, so that transparent corner samples do not darken the edge.
        sum[0] += r * a;
        sum[1] += g * a;
        sum[2] += b * a;
        sum[3] += a;
      }
    }
    const offset = y * (SIZE * 4 + 1) + 1 + x * 4;
    const alpha = sum[3] / (SAMPLES * SAMPLES);
    for (let channel = 0; channel < 3; channel++)
      pixels[offset + channel] = sum[3] ? Math.round(sum[channel] / sum[3]) : 0;
    pixels[offset + 3] = Math.round(alpha);
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (bytes) => {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
};
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header[8] = 8; // bit depth
header[9] = 6; // colour type RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(pixels, { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, png);
console.log(`${out}: ${SIZE}×${SIZE}, ${png.length} bytes`);
