/** Loading raw tensors into model variables (no file system: the web page uses it too). */
import * as tf from '@tensorflow/tfjs';
import type { RawTensor } from './safetensors.js';

/**
 * Copies `source` tensors into `target` variables by name. Every target must be present with its exact
 * shape; otherwise one error lists all missing and mis-shaped names (`where` says which file).
 */
export function assignTensors(
  target: Map<string, tf.Variable>,
  source: Map<string, RawTensor>,
  where: string,
): void {
  const problems: string[] = [];
  for (const [name, v] of target) {
    const t = source.get(name);
    if (!t) problems.push(`missing ${name} [${v.shape}]`);
    else if (!sameShape(t.shape, v.shape))
      problems.push(`${name}: file has [${t.shape}], model needs [${v.shape}]`);
  }
  if (problems.length) {
    // A wrong file fails on hundreds of tensors; the first few say enough.
    const more = problems.length > 8 ? `; … and ${problems.length - 8} more` : '';
    throw new Error(
      `${where}: ${problems.length} tensor(s) do not fit the model: ${problems.slice(0, 8).join('; ')}${more}`,
    );
  }
  for (const [name, v] of target) {
    const t = source.get(name)!;
    // assign shares the tensor's data; the tensor itself must still be freed.
    const value = tf.tensor(t.data, t.shape, 'float32');
    v.assign(value);
    value.dispose();
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
