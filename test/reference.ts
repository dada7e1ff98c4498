/** Typed access to the peer reference vectors; the reading itself is `test/helpers/reference.ts`. */
import { loadReference as loadFile } from './helpers/reference.js';

export interface ReferenceFile<C> {
  source: unknown;
  notes: string[];
  cases: C[];
}

/** Parses `test/fixtures/reference/<name>` (name with or without `.json`). */
export function loadReference<C>(name: string): ReferenceFile<C> {
  return loadFile(name.replace(/\.json$/, '')) as ReferenceFile<C>;
}
