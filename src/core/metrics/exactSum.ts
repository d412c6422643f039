/**
 * Exact sums of doubles: every double is m·2^e with an integer m, so a sum is kept as one BigInt
 * mantissa over the smallest exponent seen. Addition is then exact, hence associative and
 * commutative: shards, workers, batches and resumed runs that add the same values in any order
 * and grouping hold the same sum, and the mean and spread derived from it are the same double,
 * bit for bit. The values are rounded once, at the end.
 */

/** An exact binary rational m·2^e. */
export interface ExactValue {
  mantissa: bigint;
  exponent: number;
}

const scratch = new DataView(new ArrayBuffer(8));

/** The exact m·2^e of a finite double. */
export function exactOf(value: number): ExactValue {
  if (!Number.isFinite(value)) throw new RangeError(`Only finite numbers have an exact sum (got ${value}).`);
  scratch.setFloat64(0, value);
  const high = scratch.getUint32(0);
  const low = scratch.getUint32(4);
  const negative = high >>> 31 === 1;
  const biased = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  let exponent: number;
  if (biased === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  return { mantissa: negative ? -mantissa : mantissa, exponent };
}

function aligned(value: ExactValue, exponent: number): bigint {
  return value.mantissa << BigInt(value.exponent - exponent);
}

export function addExact(a: ExactValue, b: ExactValue): ExactValue {
  if (a.mantissa === 0n) return b;
  if (b.mantissa === 0n) return a;
  const exponent = Math.min(a.exponent, b.exponent);
  return { mantissa: aligned(a, exponent) + aligned(b, exponent), exponent };
}

export function multiplyExact(a: ExactValue, b: ExactValue): ExactValue {
  return { mantissa: a.mantissa * b.mantissa, exponent: a.exponent + b.exponent };
}

const ZERO: ExactValue = { mantissa: 0n, exponent: 0 };

function bitLength(value: bigint): number {
  return value === 0n ? 0 : (value < 0n ? -value : value).toString(2).length;
}

/** numerator·2^exponent / denominator rounded to the nearest double (denominator > 0). */
export function divideToNumber(numerator: bigint, exponent: number, denominator: bigint): number {
  if (numerator === 0n) return 0;
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  // Enough quotient bits that one rounding (Number of a BigInt, nearest) is the only rounding; the
  // remainder becomes a sticky low bit so that halfway cases are not mistaken.
  const shift = 66 + bitLength(denominator) - bitLength(magnitude);
  const dividend = shift >= 0 ? magnitude << BigInt(shift) : magnitude;
  const divisor = shift >= 0 ? denominator : denominator << BigInt(-shift);
  const quotient = dividend / divisor;
  const sticky = dividend % divisor === 0n ? 0n : 1n;
  // Two power-of-two steps keep each factor representable; both are exact.
  const scale = exponent - shift - 1;
  const result = Number((quotient << 1n) | sticky) * 2 ** Math.trunc(scale / 2) * 2 ** (scale - Math.trunc(scale / 2));
  return negative ? -result : result;
}

/** Count, exact sum and exact sum of squares of the finite values added; mergeable by addition. */
export class ExactMoments {
  count = 0;
  sum: ExactValue = ZERO;
  squares: ExactValue = ZERO;

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    const exact = exactOf(value);
    this.count++;
    this.sum = addExact(this.sum, exact);
    this.squares = addExact(this.squares, multiplyExact(exact, exact));
  }

  merge(other: ExactMoments): void {
    this.count += other.count;
    this.sum = addExact(this.sum, other.sum);
    this.squares = addExact(this.squares, other.squares);
  }

  /** The mean, correctly rounded (NaN when nothing was added). */
  mean(): number {
    return this.count ? divideToNumber(this.sum.mantissa, this.sum.exponent, BigInt(this.count)) : NaN;
  }

  /** Sample standard deviation (n − 1), from the exact variance rounded once; 0 for fewer than 2 values. */
  std(): number {
    if (this.count < 2) return 0;
    const n = BigInt(this.count);
    // n·Σx² − (Σx)², over n(n − 1): exact in integers at a common exponent.
    const squareOfSum = multiplyExact(this.sum, this.sum);
    const exponent = Math.min(this.squares.exponent, squareOfSum.exponent);
    const numerator = n * aligned(this.squares, exponent) - aligned(squareOfSum, exponent);
    return Math.sqrt(Math.max(0, divideToNumber(numerator, exponent, n * (n - 1n))));
  }

  toJSON(): ExactMomentsJson {
    return {
      count: this.count,
      sum: ExactMoments.valueToJson(this.sum),
      squares: ExactMoments.valueToJson(this.squares),
    };
  }

  static fromJSON(json: ExactMomentsJson): ExactMoments {
    const moments = new ExactMoments();
    moments.count = json.count;
    moments.sum = ExactMoments.valueFromJson(json.sum);
    moments.squares = ExactMoments.valueFromJson(json.squares);
    return moments;
  }

  /** An exact value in JSON: the mantissa as a hexadecimal string (sign first) and the binary exponent. */
  static valueToJson(value: ExactValue): [string, number] {
    const hex = value.mantissa < 0n ? '-0x' + (-value.mantissa).toString(16) : '0x' + value.mantissa.toString(16);
    return [hex, value.exponent];
  }

  static valueFromJson(json: [string, number]): ExactValue {
    if (
      !Array.isArray(json) ||
      typeof json[0] !== 'string' ||
      !/^-?0x[0-9a-f]+$/.test(json[0]) ||
      !Number.isInteger(json[1])
    ) {
      throw new TypeError('not an exact sum');
    }
    const negative = json[0].startsWith('-');
    const mantissa = BigInt(negative ? json[0].slice(1) : json[0]);
    return { mantissa: negative ? -mantissa : mantissa, exponent: json[1] };
  }
}

/** Exact moments in JSON (see {@link ExactMoments.valueToJson}). */
export interface ExactMomentsJson {
  count: number;
  sum: [string, number];
  squares: [string, number];
}
