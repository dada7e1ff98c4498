/**
 * Seeded randomness. Every random choice in the project comes from an `Rng` made here and passed
 * in explicitly, so a run is a pure function of its seed (docs/ARCHITECTURE.md, "Conventions").
 */

/** A deterministic pseudo-random stream. */
export interface Rng {
  /** The seed this stream was made from. */
  readonly seed: number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal N(0, 1) (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(a: T[]): T[];
  /** An independent stream derived from this one's seed and a label (does not advance this one). */
  fork(label: string | number): Rng;
}

// splitmix32 turns any 32-bit seed, including small consecutive ones, into well-mixed state.
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashLabel(label: string | number): number {
  const s = String(label);
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Makes a seeded generator (sfc32 seeded through splitmix32).
 * @param seed any integer; equal seeds give equal streams on every platform.
 */
export function makeRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`makeRng: seed must be a finite number, got ${seed}`);
  const s0 = Math.trunc(seed) >>> 0;
  let a = splitmix32(s0);
  let b = splitmix32(a ^ 0x6a09e667);
  let c = splitmix32(b ^ 0xbb67ae85);
  let d = 1;
  let spare: number | null = null;
  const next = (): number => {
    // sfc32: small, fast, passes PractRand far beyond what we draw.
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const rng: Rng = {
    seed,
    next,
    int(n: number): number {
      if (!(n > 0)) throw new Error(`Rng.int: n must be positive, got ${n}`);
      return Math.floor(next() * n);
    },
    uniform(lo: number, hi: number): number {
      return lo + (hi - lo) * next();
    },
    normal(): number {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle<T>(arr: T[]): T[] {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = arr[i]!;
        arr[i] = arr[j]!;
        arr[j] = tmp;
      }
      return arr;
    },
    fork(label: string | number): Rng {
      return makeRng((splitmix32(s0 ^ hashLabel(label)) ^ hashLabel(`fork:${label}`)) >>> 0);
    },
  };
  return rng;
}

/**
 * A seed for TensorFlow.js ops (`tf.randomNormal(shape, 0, 1, 'float32', seed)`): tfjs treats a seed of
 * 0 (and `undefined`) as "unseeded", so this never returns 0.
 */
export function tfSeed(rng: Rng): number {
  return 1 + rng.int(2147483646);
}
