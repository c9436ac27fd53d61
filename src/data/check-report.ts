// The label checker's report: its shape (also the `--json` output), per-class frequencies with
// suggested class weights, and the human-readable summary.

import type { ClassInfo } from '../model/manifest.js';
import type { UnknownValue } from './codec.js';

export type ProblemKind =
  | 'layout'
  | 'empty'
  | 'unpaired'
  | 'unreadable'
  | 'size-mismatch'
  | 'unknown-colour'
  | 'invalid-label';

export interface CheckProblem {
  kind: ProblemKind;
  /** The file (or folder) at fault. */
  file: string;
  message: string;
  /** For unknown-colour / invalid-label: the offending values, most frequent first. */
  values?: UnknownValue[];
}

export interface ClassFrequency {
  id: number;
  name: string;
  color: readonly [number, number, number];
  pixels: number;
  /** Share of the labelled (non-ignored) pixels. */
  fraction: number;
  /** Median-frequency balancing weight (median fraction / fraction); null for absent classes. */
  weight: number | null;
}

export interface CheckReport {
  dataSource: string;
  dataDir: string | null;
  valid: boolean;
  samples: { total: number; checked: number };
  /** Distinct files (or synthetic sample names) with at least one problem. */
  filesWithProblems: number;
  problems: CheckProblem[];
  classFrequencies: ClassFrequency[];
  labelledPixels: number;
  ignoredPixels: number;
  previews: string[];
  seconds: number;
  samplesPerSecond: number;
}

export function classFrequencies(counts: Float64Array, classes: readonly ClassInfo[]): ClassFrequency[] {
  const labelled = classes.reduce((sum, c) => sum + counts[c.id]!, 0);
  const present = classes
    .map((c) => counts[c.id]! / Math.max(labelled, 1))
    .filter((f) => f > 0)
    .sort((a, b) => a - b);
  const middle = present.length / 2;
  const median =
    present.length === 0
      ? 0
      : present.length % 2 === 1
        ? present[Math.floor(middle)]!
        : (present[middle - 1]! + present[middle]!) / 2;
  return classes.map((c) => {
    const pixels = counts[c.id]!;
    const fraction = labelled > 0 ? pixels / labelled : 0;
    return {
      id: c.id,
      name: c.name,
      color: c.color,
      pixels,
      fraction,
      weight: fraction > 0 ? median / fraction : null,
    };
  });
}

function describeValue(value: UnknownValue): string {
  const what = value.value.length === 3 ? `colour (${value.value.join(', ')})` : `value ${value.value[0]}`;
  return `${what} x ${value.count} px, first at x=${value.x} y=${value.y}`;
}

/** The summary printed at the end of `edgeseg check-data`. */
export function formatCheckReport(report: CheckReport, maxProblems = 25): string {
  const lines: string[] = [];
  const where = report.dataDir ? ` in ${report.dataDir}` : '';
  const partial = report.samples.checked < report.samples.total ? ` (of ${report.samples.total})` : '';
  lines.push(
    `Checked ${report.samples.checked} samples${partial} of data source ${report.dataSource}${where} in ${report.seconds.toFixed(1)} s (${report.samplesPerSecond.toFixed(1)} samples/s).`,
  );
  if (report.classFrequencies.length > 0 && report.labelledPixels > 0) {
    lines.push('', 'Class frequencies (share of labelled pixels; median-frequency weight):');
    const width = Math.max(...report.classFrequencies.map((c) => c.name.length));
    for (const c of report.classFrequencies) {
      const weight = c.weight === null ? '-' : c.weight.toFixed(3);
      lines.push(
        `  ${String(c.id).padStart(3)} ${c.name.padEnd(width)}  ${(c.fraction * 100).toFixed(2).padStart(6)} %  ${String(c.pixels).padStart(12)} px  weight ${weight}`,
      );
    }
    const total = report.labelledPixels + report.ignoredPixels;
    if (report.ignoredPixels > 0) {
      lines.push(
        `  ignored (void) pixels: ${report.ignoredPixels} (${((report.ignoredPixels / total) * 100).toFixed(2)} % of all)`,
      );
    }
  }
  if (report.previews.length > 0) {
    lines.push('', `Wrote ${report.previews.length} blended previews, e.g. ${report.previews[0]}`);
  }
  lines.push('');
  if (report.valid) {
    lines.push('OK: every label pixel maps to exactly one class; all files pair up and decode.');
  } else {
    lines.push(`FAILED: ${report.problems.length} problem(s) in ${report.filesWithProblems} file(s):`);
    for (const problem of report.problems.slice(0, maxProblems)) {
      lines.push(`  [${problem.kind}] ${problem.file}: ${problem.message}`);
      for (const value of problem.values?.slice(0, 5) ?? []) lines.push(`      ${describeValue(value)}`);
    }
    if (report.problems.length > maxProblems) {
      lines.push(`  ... and ${report.problems.length - maxProblems} more (use --json for all)`);
    }
  }
  return lines.join('\n');
}
