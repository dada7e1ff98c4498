/** Reads the peer reference vectors in `<repo>/../shared/reference/` (see its README). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRootFromHere(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('reference: no package.json above the compiled test');
}

export interface ReferenceFile<C> {
  source: unknown;
  notes: string[];
  cases: C[];
}

/** Parses `shared/reference/<name>`. */
export function loadReference<C>(name: string): ReferenceFile<C> {
  const path = join(repoRootFromHere(), '..', 'shared', 'reference', name);
  if (!existsSync(path)) throw new Error(`reference file missing: ${path}`);
  return JSON.parse(readFileSync(path, 'utf8')) as ReferenceFile<C>;
}
