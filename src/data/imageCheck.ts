/**
 * The image check of every notebook that reads images: each listed file is decoded once (results
 * cached by content, so a rerun decodes only new or changed files) and resized to the size the
 * notebooks use; files that fail are reported by kind and excluded downstream.
 */
import { DataCache } from './dataCache.js';
import { decodeImageBytes, ImageError, resizeImage } from './images.js';

/** Bumped when decoding changes, so that cached verdicts of an older decoder are not reused. */
const DECODER_VERSION = 2;

/** One file that does not decode: the audit's kind and the reason. */
export interface ImageProblem {
  path: string;
  kind: string;
  reason: string;
}

/**
 * Decodes each of `paths` (resized to `size`×`size`, every value finite) and returns those that fail.
 * Prints progress with an ETA through `log` when the check runs longer than a few seconds.
 */
export async function checkImageFiles(paths: readonly string[], opts: { size: number; cache: DataCache; log?: (line: string) => void; label?: string }): Promise<ImageProblem[]> {
  const out: ImageProblem[] = [];
  const t0 = Date.now();
  let lastLog = t0;
  let decoded = 0;
  for (const [i, path] of paths.entries()) {
    let r;
    try {
      const { sha1, bytes } = opts.cache.hash(path);
      const key = `${sha1}:${opts.size}:v${DECODER_VERSION}`;
      r = opts.cache.decoded(key);
      if (!r) {
        r = await decodeOne(path, bytes, opts.size);
        opts.cache.setDecoded(key, r);
        decoded++;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      r = { kind: code === 'ENOENT' ? 'missing-image' : 'unreadable-image', reason: (e as Error).message };
    }
    if (r.kind) out.push({ path, kind: r.kind, reason: r.reason ?? '' });
    const now = Date.now();
    if (opts.log && now - lastLog > 10_000) {
      const eta = ((now - t0) / (i + 1)) * (paths.length - i - 1) / 1000;
      opts.log(`${opts.label ?? 'image check'}: ${i + 1}/${paths.length} files checked, ${out.length} bad, ETA ${eta.toFixed(0)}s`);
      lastLog = now;
    }
    if (i % 200 === 199) opts.cache.save();
  }
  opts.cache.save();
  if (opts.log && decoded > 0 && Date.now() - t0 > 2000) opts.log(`${opts.label ?? 'image check'}: decoded ${decoded} new or changed file(s) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return out;
}

async function decodeOne(path: string, bytes: Uint8Array | null, size: number): Promise<{ kind: string | null; reason: string | null }> {
  try {
    const { readFile } = await import('node:fs/promises');
    const img = await decodeImageBytes(bytes ?? (await readFile(path)), path);
    if (!(img.width > 0 && img.height > 0)) return { kind: 'unreadable-image', reason: `image has no pixels (${img.width}x${img.height})` };
    const small = resizeImage(img, size, size);
    for (const v of small.data) if (!Number.isFinite(v)) return { kind: 'unreadable-image', reason: 'pixel values are not finite after decoding' };
    return { kind: null, reason: null };
  } catch (e) {
    if (e instanceof ImageError) return { kind: e.kind, reason: e.message.slice(path.length + 2) };
    return { kind: 'unreadable-image', reason: (e as Error).message };
  }
}
