/**
 * Decoded images on disk at the size training reads, so that a data set far larger than memory (NIH's
 * 86,524 training images are 17 GB of float32 even at 224 px, 363 GB at 1024) is decoded once and then
 * served batch by batch with memory bounded by the batch. The authors likewise pretrained from 224 px
 * copies.
 *
 * Layout, one folder per key: `pixels.u16` (one record of size² brightness values × 65535 per kept image,
 * in order), `state.json` (how many inputs are done, which were kept, which were rejected and why), rewritten
 * atomically as the first pass goes, so a stopped pass resumes where it stopped. The key hashes the decoder
 * version, the size, the paths in order and a caller-given fingerprint of their content.
 */
import { createHash } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { formatSeconds } from '../duration.js';
import { writeJsonAtomic } from '../io.js';
import { ImageError, loadImagePixels } from './images.js';
import type { IssueLog } from './issues.js';

/**
 * Above this many bytes of float32 pixels a split is streamed from the cache instead of held in memory
 * (pretraining, detection and the linear evaluation alike).
 */
export const IN_MEMORY_BYTES = 2 ** 31;

/** Bump when decoding or resizing changes what a cached pixel holds. */
export const IMAGE_CACHE_VERSION = 1;

export interface ImageCacheOptions {
  /** Parent folder; each key gets a sub-folder. */
  dir: string;
  /** Side of the square images served. */
  size: number;
  /** What the inputs' content is (e.g. sizes and modification times, or hashes); changes make a new cache. */
  fingerprint: string;
  /** Rejected images are reported here (file, kind, reason) on every open, cached or not. */
  log?: IssueLog;
  /** Progress lines of the first pass (default: console.log), at most every `logEverySeconds` (default 10). */
  progress?: (line: string) => void;
  logEverySeconds?: number;
  /** Label of progress lines (default `images`). */
  label?: string;
  /**
   * How an image becomes a record (default: `loadImagePixels` stretched to `size`²). Its `name` is part of
   * the key, so two decoders never share a cache; `meta` (e.g. the source size) is kept per image.
   */
  decoder?: ImageCacheDecoder;
}

/** A custom decoder: `size`² pixels in [0, 1] (row-major) and optional numbers kept beside them. */
export interface ImageCacheDecoder {
  name: string;
  decode(path: string, size: number): Promise<{ pixels: Float32Array; meta?: number[] }>;
}

interface CacheState {
  version: number;
  size: number;
  /** Inputs processed so far (kept or rejected), in order. */
  done: number;
  /** Positions (in the input list) of the kept images, in record order. */
  kept: number[];
  rejected: Array<{ index: number; path: string; kind: string; reason: string }>;
  /** The decoder's `meta` of each kept image, in record order (absent for the default decoder). */
  meta?: number[][];
}

/** The folder name of a cache: a hash of everything a cached pixel depends on. */
export function imageCacheKey(
  paths: readonly string[],
  size: number,
  fingerprint: string,
  decoder?: string,
): string {
  const h = createHash('sha256');
  // The default decoder's key is unchanged from before decoders could be chosen.
  h.update(
    JSON.stringify({ version: IMAGE_CACHE_VERSION, size, fingerprint, paths, ...(decoder ? { decoder } : {}) }),
  );
  return `${size}px-${h.digest('hex').slice(0, 16)}`;
}

const SCALE = 65535;

/** Images served from the cache by position among the kept ones. */
export class ImageCache {
  private fd: number;
  readonly count: number;
  private readonly record: number;

  private constructor(readonly folder: string, readonly size: number, readonly paths: string[], readonly positions: number[], readonly meta: number[][]) {
    this.fd = openSync(join(folder, 'pixels.u16'), 'r');
    this.count = positions.length;
    this.record = size * size;
  }

  /**
   * Opens the cache of `paths` at `opts.size`, decoding whatever a previous pass has not (with progress
   * and an ETA). Images that cannot be read are skipped and reported, as `imageBatches` does.
   */
  static async open(paths: readonly string[], opts: ImageCacheOptions): Promise<ImageCache> {
    const folder = join(opts.dir, imageCacheKey(paths, opts.size, opts.fingerprint, opts.decoder?.name));
    mkdirSync(folder, { recursive: true });
    const statePath = join(folder, 'state.json');
    const pixelsPath = join(folder, 'pixels.u16');
    const record = opts.size * opts.size;
    let state: CacheState = { version: IMAGE_CACHE_VERSION, size: opts.size, done: 0, kept: [], rejected: [] };
    if (existsSync(statePath)) {
      try {
        state = JSON.parse(readFileSync(statePath, 'utf8')) as CacheState;
      } catch (e) {
        throw new Error(`image cache ${statePath} is unreadable (${(e as Error).message}); delete the folder ${folder} to rebuild it`);
      }
    }
    if (state.done < paths.length) await ImageCache.fill(paths, opts, state, statePath, pixelsPath, record);
    for (const r of state.rejected) opts.log?.add(r.path, null, r.kind, r.reason);
    return new ImageCache(
      folder,
      opts.size,
      state.kept.map((i) => paths[i]!),
      state.kept,
      state.kept.map((_, k) => state.meta?.[k] ?? []),
    );
  }

  private static async fill(paths: readonly string[], opts: ImageCacheOptions, state: CacheState, statePath: string, pixelsPath: string, record: number): Promise<void> {
    const fd = openSync(pixelsPath, existsSync(pixelsPath) ? 'r+' : 'w+');
    try {
      // Records past the last saved state belong to a pass that stopped before saving it: drop them.
      ftruncateSync(fd, state.kept.length * record * 2);
      const say = opts.progress ?? ((l: string) => console.log(l));
      const every = (opts.logEverySeconds ?? 10) * 1000;
      const label = opts.label ?? 'images';
      const start = Date.now();
      const first = state.done;
      let lastLog = start;
      let lastSave = start;
      const out = new Uint16Array(record);
      for (let i = state.done; i < paths.length; i++) {
        try {
          let px: Float32Array;
          if (opts.decoder) {
            const d = await opts.decoder.decode(paths[i]!, opts.size);
            if (d.pixels.length !== record)
              throw new Error(
                `image cache: decoder ${opts.decoder.name} gave ${d.pixels.length} pixels for ${paths[i]}, not ${record}`,
              );
            px = d.pixels;
            (state.meta ??= []).push(d.meta ?? []);
          } else px = await loadImagePixels(paths[i]!, { size: opts.size });
          for (let j = 0; j < record; j++) out[j] = Math.round(Math.min(1, Math.max(0, px[j]!)) * SCALE);
          writeSync(fd, out, 0, out.byteLength, state.kept.length * record * 2);
          state.kept.push(i);
        } catch (e) {
          if (!(e instanceof ImageError)) throw e;
          state.rejected.push({ index: i, path: e.path, kind: e.kind, reason: e.message });
        }
        state.done = i + 1;
        const now = Date.now();
        if (now - lastSave > 5000) {
          writeJsonAtomic(statePath, state);
          lastSave = now;
        }
        if (now - lastLog >= every || state.done === paths.length) {
          const rate = (state.done - first) / Math.max(1e-3, (now - start) / 1000);
          const eta = (paths.length - state.done) / Math.max(rate, 1e-9);
          say(`caching ${label} at ${opts.size} px: ${state.done}/${paths.length} (${state.rejected.length} rejected) · ${rate.toFixed(1)} img/s · ETA ${formatSeconds(eta)}`);
          lastLog = now;
        }
      }
      writeJsonAtomic(statePath, state);
    } finally {
      closeSync(fd);
    }
  }

  /** `[n, size, size, 1]` float32 brightness of the kept images at `indices` (0 … count−1). */
  batch(indices: number[]): tf.Tensor4D {
    const n = indices.length;
    const out = new Float32Array(n * this.record);
    const buf = new Uint16Array(this.record);
    const bytes = new Uint8Array(buf.buffer);
    indices.forEach((k, b) => {
      if (!(Number.isInteger(k) && k >= 0 && k < this.count)) throw new Error(`ImageCache.batch: index ${k} outside 0..${this.count - 1}`);
      const got = readSync(this.fd, bytes, 0, bytes.length, k * bytes.length);
      if (got !== bytes.length) throw new Error(`image cache ${this.folder}: record ${k} is truncated; delete the folder to rebuild it`);
      for (let j = 0; j < this.record; j++) out[b * this.record + j] = buf[j]! / SCALE;
    });
    return tf.tensor4d(out, [n, this.size, this.size, 1], 'float32');
  }

  /** Bytes on disk. */
  get bytes(): number {
    return statSync(join(this.folder, 'pixels.u16')).size;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
