/**
 * The checks of the notebooks' "method on one batch" sections: a number computed in visible code is
 * printed beside the library's result on the same input, and the cell throws when they disagree, so
 * a section that drifts from the library fails the run instead of teaching something else.
 */

type Numbers = number | ArrayLike<number> | readonly (number | ArrayLike<number>)[];

function flat(x: Numbers): number[] {
  if (typeof x === 'number') return [x];
  const out: number[] = [];
  for (const v of Array.from(x as ArrayLike<number | ArrayLike<number>>)) {
    if (typeof v === 'number') out.push(v);
    else out.push(...Array.from(v));
  }
  return out;
}

function short(v: number[]): string {
  const s = v.slice(0, 6).map((x) => (Number.isInteger(x) ? String(x) : x.toPrecision(6)));
  return v.length === 1 ? s[0]! : `[${s.join(', ')}${v.length > 6 ? `, … (${v.length})` : ''}]`;
}

/**
 * Checks that `ours` (computed step by step in a notebook cell) equals `library` (the library call on
 * the same input) within `tol`, relative to the larger of 1 and |library| element by element; nested
 * arrays (boxes) are compared flattened. Prints one line with both values and the largest difference;
 * throws an Error naming `what` when the lengths or any element disagree. Returns nothing, so a
 * notebook cell ending in a check shows only that line.
 *
 * @example
 * checkClose('AUC', 0.75, rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])); // prints "AUC: 0.750000 (ours) ..."
 */
export function checkClose(what: string, ours: Numbers, library: Numbers, tol = 1e-6): void {
  const a = flat(ours);
  const b = flat(library);
  if (a.length !== b.length) {
    throw new Error(`${what}: ours has ${a.length} values, the library ${b.length}`);
  }
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= tol * Math.max(1, Math.abs(b[i]!)))) {
      throw new Error(`${what}: element ${i} is ${a[i]} (ours) but ${b[i]} (library); tolerance ${tol}`);
    }
    worst = Math.max(worst, d);
  }
  console.log(
    `${what}: ${short(a)} (ours) = ${short(b)} (library), max |difference| ${worst.toExponential(1)} ✓`,
  );
}
