/** Counting for the data audit (notebook 01): numbers a test can check, apart from any drawing. */
import type { TableData } from '../plots/table.js';
import { NIH_LABEL_COUNTS, NIH_LABELS, NIH_TOTAL_IMAGES, type NihLabel } from './labels.js';
import { nihLabelCounts, type NihRecord } from './nih.js';

/** Fig. 1's data: images per label, sorted by count (descending, ties by label order). */
export interface LabelDistribution {
  labels: NihLabel[];
  counts: number[];
  /** The real NIH set's count for each label, scaled to this set's image total (for comparison). */
  expected: number[];
  totalImages: number;
}

export function labelDistribution(records: readonly NihRecord[]): LabelDistribution {
  const counts = nihLabelCounts(records);
  const labels = [...NIH_LABELS].sort((a, b) => counts[b] - counts[a] || NIH_LABELS.indexOf(a) - NIH_LABELS.indexOf(b));
  const scale = records.length / NIH_TOTAL_IMAGES;
  return {
    labels,
    counts: labels.map((l) => counts[l]),
    expected: labels.map((l) => Math.round(NIH_LABEL_COUNTS[l] * scale * 10) / 10),
    totalImages: records.length,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The cohort table: images, patients, views, sex, age quartiles and findings, overall and per
 * official split (`trainVal`/`test` image sets; images in neither are counted under "unlisted").
 */
export function cohortTable(records: readonly NihRecord[], trainVal: ReadonlySet<string>, test: ReadonlySet<string>): TableData {
  const groups: [string, NihRecord[]][] = [
    ['all', [...records]],
    ['train_val_list', records.filter((r) => trainVal.has(r.imageIndex))],
    ['test_list', records.filter((r) => test.has(r.imageIndex))],
  ];
  const unlisted = records.filter((r) => !trainVal.has(r.imageIndex) && !test.has(r.imageIndex));
  if (unlisted.length) groups.push(['unlisted', unlisted]);
  const rows: (string | number | null)[][] = groups.map(([name, rs]) => {
    const ages = rs.map((r) => r.age).sort((a, b) => a - b);
    const n = rs.length || 1;
    return [
      name,
      rs.length,
      new Set(rs.map((r) => r.patientId)).size,
      rs.filter((r) => r.view === 'PA').length,
      rs.filter((r) => r.view === 'AP').length,
      Math.round((1000 * rs.filter((r) => r.gender === 'M').length) / n) / 10,
      quantile(ages, 0.25),
      quantile(ages, 0.5),
      quantile(ages, 0.75),
      Math.round((1000 * rs.filter((r) => r.labels[0] !== 'No Finding').length) / n) / 10,
    ];
  });
  return {
    columns: ['split', 'images', 'patients', 'PA', 'AP', 'male %', 'age q1', 'age median', 'age q3', 'with finding %'],
    rows,
  };
}
