// Baseline vs tip (and prefix by prefix): what a series did to each scenario. Pure.
import type { Status } from '../report/events.ts';

export type Change = 'still-passing' | 'regression' | 'fix' | 'still-failing' | 'errored' | 'skipped';

export function classify(before: Status | undefined, after: Status | undefined): Change {
  if (after === 'errored' || before === 'errored') return 'errored';
  if (after === 'skipped' || after === undefined) return 'skipped';
  const wasOk = before === 'passed' || before === 'skipped' || before === undefined;
  if (after === 'passed') return wasOk ? 'still-passing' : 'fix';
  return wasOk ? 'regression' : 'still-failing';
}

export interface Comparison {
  rows: { id: string; baseline: Status | undefined; tip: Status | undefined; change: Change }[];
  regressions: string[];
}

export function compareRuns(baseline: Map<string, Status>, tip: Map<string, Status>): Comparison {
  const ids = [...new Set([...baseline.keys(), ...tip.keys()])].sort();
  const rows = ids.map((id) => ({ id, baseline: baseline.get(id), tip: tip.get(id), change: classify(baseline.get(id), tip.get(id)) }));
  return { rows, regressions: rows.filter((r) => r.change === 'regression').map((r) => r.id) };
}

/** For each scenario, the first prefix (1-based patch number) at which it regressed, if any. */
export function firstBreakingPatch(baseline: Map<string, Status>, prefixes: Map<string, Status>[]): Map<string, number> {
  const first = new Map<string, number>();
  prefixes.forEach((results, i) => {
    for (const [id, status] of results) {
      if (!first.has(id) && classify(baseline.get(id), status) === 'regression') first.set(id, i + 1);
    }
  });
  return first;
}

/** Compiler warnings of a build log, normalised so the same warning in two builds compares equal. */
export function warnings(buildLog: string): string[] {
  const out = new Set<string>();
  for (const line of buildLog.split('\n')) {
    const m = /^(?:\.\.\/src\/|.*\/src\/)?([^\s:]+\.[ch]):\d+:\d+: warning: (.*)$/.exec(line.trim());
    if (m) out.add(`${m[1]}: ${m[2]}`);
  }
  return [...out].sort();
}

export function newWarnings(previous: string[], current: string[]): string[] {
  const before = new Set(previous);
  return current.filter((w) => !before.has(w));
}

export function comparisonTable(c: Comparison): string {
  const width = Math.max(8, ...c.rows.map((r) => r.id.length));
  const lines = [`${'scenario'.padEnd(width)}  baseline  tip       change`];
  for (const r of c.rows) lines.push(`${r.id.padEnd(width)}  ${String(r.baseline ?? '-').padEnd(8)}  ${String(r.tip ?? '-').padEnd(8)}  ${r.change === 'regression' ? 'REGRESSION' : r.change}`);
  return lines.join('\n');
}
