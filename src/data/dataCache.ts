/**
 * What a data folder holds, by content: a SHA-1 per file (cached by path, size and modification
 * time, so unchanged files are not read again) and each file's decode result (cached by content).
 * Run keys use the folder's fingerprint, so changed data means a fresh run, and the image check of
 * every notebook decodes only files it has not seen.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Config } from '../config.js';
import { writeJsonAtomic } from '../io.js';
import { indexNihImages, NIH_BBOX_CSV, NIH_CSV } from './nih.js';
import { VINDR_TRAIN_CSV } from './vindr.js';

interface FileEntry {
  size: number;
  mtimeMs: number;
  sha1: string;
}

/** A decode result: null kind = the image decodes. */
export interface DecodeResult {
  kind: string | null;
  reason: string | null;
}

interface CacheFile {
  version: 1;
  files: Record<string, FileEntry>;
  decoded: Record<string, DecodeResult>;
}

/** The per-folder cache file (JSON, written atomically; a corrupt one is ignored and rebuilt). */
export class DataCache {
  private data: CacheFile = { version: 1, files: {}, decoded: {} };
  private dirty = false;

  constructor(readonly path: string | null) {
    if (path && existsSync(path)) {
      try {
        const d = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
        if (d.version === 1 && d.files && d.decoded) this.data = d;
      } catch {
        // A cache is only a cache: start again.
      }
    }
  }

  /** SHA-1 of the file's bytes (read only when its size or mtime changed); `bytes` when they were read. */
  hash(path: string): { sha1: string; bytes: Uint8Array | null } {
    const st = statSync(path);
    const e = this.data.files[path];
    if (e && e.size === st.size && e.mtimeMs === st.mtimeMs) return { sha1: e.sha1, bytes: null };
    const bytes = readFileSync(path);
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    this.data.files[path] = { size: st.size, mtimeMs: st.mtimeMs, sha1 };
    this.dirty = true;
    return { sha1, bytes };
  }

  decoded(key: string): DecodeResult | undefined {
    return this.data.decoded[key];
  }

  setDecoded(key: string, r: DecodeResult): void {
    this.data.decoded[key] = r;
    this.dirty = true;
  }

  save(): void {
    if (this.path && this.dirty) writeJsonAtomic(this.path, this.data);
    this.dirty = false;
  }
}

/** The cache of the data folder `dir` under `config.paths.checkpoints` (git-ignored, per profile). */
export function dataCacheFor(config: Config, dir: string): DataCache {
  const tag = createHash('sha256').update(dir).digest('hex').slice(0, 10);
  return new DataCache(join(config.paths.checkpoints, 'data-cache', `${basename(dir)}-${tag}.json`));
}

/** The files of an NIH folder that the loaders read: metadata, split lists, boxes and every PNG. */
export function nihDataFiles(dir: string): string[] {
  const meta = [NIH_CSV, 'train_val_list.txt', 'test_list.txt', NIH_BBOX_CSV].map((f) => join(dir, f)).filter((f) => existsSync(f));
  return [...meta, ...indexNihImages(dir).values()];
}

/** The files of a VinDr folder that the loaders read: train.csv, train_meta.csv and train/. */
export function vindrDataFiles(dir: string): string[] {
  const meta = [VINDR_TRAIN_CSV, 'train_meta.csv'].map((f) => join(dir, f)).filter((f) => existsSync(f));
  const train = join(dir, 'train');
  const images = existsSync(train) ? readdirSync(train).sort().filter((n) => /\.(dicom|dcm|png)$/i.test(n)).map((n) => join(train, n)) : [];
  return [...meta, ...images];
}

/**
 * SHA-256 of the files' names (relative to `dir`, so a moved copy keeps its fingerprint) and
 * contents; 16 hex digits.
 */
export function folderFingerprint(dir: string, files: readonly string[], cache: DataCache): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) h.update(`${relative(dir, f)}\0${cache.hash(f).sha1}\n`);
  cache.save();
  return h.digest('hex').slice(0, 16);
}

const memo = new Map<string, string>();

/**
 * The content fingerprint of the NIH or VinDr folder `config` points at ('absent' when the folder
 * does not exist). Computed once per process and folder: data does not change under a running notebook.
 */
export function dataFingerprint(config: Config, which: 'nih' | 'vindr'): string {
  const dir = which === 'nih' ? config.data.nihDir : config.data.vindrDir;
  const hit = memo.get(dir);
  if (hit) return hit;
  if (!existsSync(dir)) return 'absent';
  const fp = folderFingerprint(dir, which === 'nih' ? nihDataFiles(dir) : vindrDataFiles(dir), dataCacheFor(config, dir));
  memo.set(dir, fp);
  return fp;
}

/** Forgets the fingerprints computed so far (for a process that changes data: tests, scripts). */
export function forgetDataFingerprints(): void {
  memo.clear();
}
