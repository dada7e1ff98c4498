/**
 * Bad input is reported, counted and skipped — never dropped silently and never a crash
 * (docs/ARCHITECTURE.md, "Bad input and faults").
 */

/** One rejected piece of input. */
export interface DataIssue {
  /** File the problem is in (path as given to the loader). */
  file: string;
  /** 1-based line for text files; null for whole-file problems. */
  line: number | null;
  /** Short machine-friendly category, e.g. `csv-columns`, `unknown-label`, `missing-image`. */
  kind: string;
  /** What is wrong, for a person. */
  reason: string;
}

/** Collects issues; loaders push into it and the audit counts them by kind. */
export class IssueLog {
  readonly issues: DataIssue[] = [];

  add(file: string, line: number | null, kind: string, reason: string): void {
    this.issues.push({ file, line, kind, reason });
  }

  /** Issue counts by kind, sorted by kind name. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const i of [...this.issues].sort((a, b) => a.kind.localeCompare(b.kind))) out[i.kind] = (out[i.kind] ?? 0) + 1;
    return out;
  }
}
