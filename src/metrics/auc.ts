/**
 * Area under the ROC curve, binary and multilabel (macro), matching scikit-learn's `roc_auc_score`.
 */

function checkBinary(
  yTrue: ArrayLike<number>,
  yScore: ArrayLike<number>,
  where: string,
): { nPos: number; nNeg: number } {
  if (yTrue.length !== yScore.length)
    throw new RangeError(`${where}: yTrue has ${yTrue.length} entries but yScore has ${yScore.length}`);
  let nPos = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i];
    if (y !== 0 && y !== 1) throw new RangeError(`${where}: yTrue[${i}] = ${y}; labels must be 0 or 1`);
    if (!Number.isFinite(yScore[i]))
      throw new RangeError(`${where}: yScore[${i}] = ${yScore[i]} is not finite`);
    nPos += y;
  }
  return { nPos, nNeg: yTrue.length - nPos };
}

/** Mann–Whitney U / (nPos * nNeg) from mid-ranks; assumes both classes are present. */
function aucFromRanks(
  yTrue: ArrayLike<number>,
  yScore: ArrayLike<number>,
  nPos: number,
  nNeg: number,
): number {
  const n = yTrue.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => yScore[a]! - yScore[b]!);
  // Sum of the positives' 1-based ranks, tied scores sharing their mean rank (= ties count 1/2).
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && yScore[order[j]!] === yScore[order[i]!]) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (yTrue[order[k]!] === 1) rankSumPos += midRank;
    i = j;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Binary ROC AUC: the probability that a random positive scores above a random negative, ties
 * counted 1/2 (Mann–Whitney statistic; equals scikit-learn's trapezoidal ROC area).
 *
 * @param yTrue `[N]` labels, each 0 or 1.
 * @param yScore `[N]` finite scores (higher = more positive; any scale).
 * @returns AUC in [0, 1].
 * @throws Error if `yTrue` holds only one class (AUC undefined, as scikit-learn raises), or on
 *   mismatched lengths, labels other than 0/1, or non-finite scores.
 */
export function rocAuc(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): number {
  const { nPos, nNeg } = checkBinary(yTrue, yScore, 'rocAuc');
  if (nPos === 0 || nNeg === 0) {
    throw new Error('rocAuc: only one class present in yTrue; ROC AUC is not defined in that case');
  }
  return aucFromRanks(yTrue, yScore, nPos, nNeg);
}

/**
 * Macro-averaged ROC AUC over labels of a multilabel problem.
 *
 * Unlike scikit-learn (which raises if any label column holds a single class), a label whose column
 * is all 0 or all 1 gets `null` and is left out of the mean: small test folds of rare NIH labels
 * (Hernia: 227 of 112,120 images) should not abort an evaluation.
 *
 * @param yTrue `[N samples][L labels]` of 0/1.
 * @param yScore `[N samples][L labels]` scores.
 * @returns `macro` = mean of the defined per-label AUCs; `perLabel[l]` = AUC of label l or null.
 * @throws Error if no label has both classes, or on ragged / mismatched shapes.
 */
export function macroRocAuc(
  yTrue: number[][],
  yScore: number[][],
): { macro: number; perLabel: (number | null)[] } {
  if (yTrue.length !== yScore.length)
    throw new RangeError(`macroRocAuc: ${yTrue.length} rows in yTrue but ${yScore.length} in yScore`);
  if (yTrue.length === 0) throw new Error('macroRocAuc: no samples');
  const L = yTrue[0]!.length;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i]!.length !== L || yScore[i]!.length !== L)
      throw new RangeError(`macroRocAuc: row ${i} does not have ${L} labels in both yTrue and yScore`);
  }
  const perLabel: (number | null)[] = [];
  let sum = 0,
    count = 0;
  const t = new Float64Array(yTrue.length),
    s = new Float64Array(yTrue.length);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < yTrue.length; i++) {
      t[i] = yTrue[i]![l]!;
      s[i] = yScore[i]![l]!;
    }
    const { nPos, nNeg } = checkBinary(t, s, `macroRocAuc (label ${l})`);
    if (nPos === 0 || nNeg === 0) {
      perLabel.push(null);
      continue;
    }
    const a = aucFromRanks(t, s, nPos, nNeg);
    perLabel.push(a);
    sum += a;
    count++;
  }
  if (count === 0)
    throw new Error('macroRocAuc: every label has only one class present; ROC AUC is not defined');
  return { macro: sum / count, perLabel };
}
