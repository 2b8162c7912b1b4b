// Baseline vs tip (and prefix by prefix): what a series did to each scenario. Pure.
import type { Status } from '../report/events.ts';

export type Change = 'still-passing' | 'regression' | 'fix' | 'still-failing' | 'skipped' | 'interrupted';

/** What validate needs of a scenario's result: its status and the evidence behind it. */
export interface Outcome {
  status: Status;
  failures?: readonly string[];
  findings?: readonly { kind: string; title: string }[];
  error?: { phase: string; message: string };
  /** Failed in a reused guest only: the fresh re-run passed (ScenarioResult.reusedOnly). */
  reusedOnly?: boolean;
}

/**
 * A scenario that passed on the baseline and does not pass on the tip — failed, errored (the
 * kernel did not boot, the probe was killed) or skipped (an option it needs is gone) — is a
 * regression. A baseline that does not pass is not compared at all (see brokenBaseline).
 */
export function classify(before: Status | undefined, after: Status | undefined): Change {
  if (before === 'interrupted' || after === 'interrupted') return 'interrupted';
  if (before === 'passed') return after === 'passed' ? 'still-passing' : 'regression';
  if (before === 'failed' || before === 'errored') return after === 'passed' ? 'fix' : 'still-failing';
  // Not run on the baseline (skipped there, or new): judged on the tip alone.
  if (after === 'passed') return 'still-passing';
  if (after === 'skipped' || after === undefined) return 'skipped';
  return 'regression';
}

export interface Comparison {
  rows: { id: string; baseline: Status | undefined; tip: Status | undefined; change: Change }[];
  regressions: string[];
  /** The cause the regressions share, when they share one ("tip kernel does not boot: …"). */
  cause?: string;
  /** Kernel reports (by crash title) on the tip, new ones first, with the scenarios that hit them. */
  findings: { title: string; scenarios: string[]; onBaseline: boolean }[];
}

const statusOf = (m: ReadonlyMap<string, Outcome | Status>, id: string): Status | undefined => {
  const v = m.get(id);
  return typeof v === 'string' ? v : v?.status;
};

export function compareRuns(baseline: ReadonlyMap<string, Outcome | Status>, tip: ReadonlyMap<string, Outcome | Status>): Comparison {
  const ids = [...new Set([...baseline.keys(), ...tip.keys()])].sort();
  const rows = ids.map((id) => ({ id, baseline: statusOf(baseline, id), tip: statusOf(tip, id), change: classify(statusOf(baseline, id), statusOf(tip, id)) }));
  const regressions = rows.filter((r) => r.change === 'regression').map((r) => r.id);
  const outcome = (m: ReadonlyMap<string, Outcome | Status>, id: string): Outcome => {
    const v = m.get(id);
    return typeof v === 'string' || v === undefined ? { status: v ?? 'skipped' } : v;
  };
  const cause = sharedCause(regressions.map((id) => outcome(tip, id)));
  return { rows, regressions, ...(cause ? { cause } : {}), findings: findingsDiff(ids.map((id) => [id, outcome(baseline, id)]), ids.map((id) => [id, outcome(tip, id)])) };
}

/** Scenarios that did not pass on the baseline: with any, there is nothing to compare against. */
export function brokenBaseline(baseline: ReadonlyMap<string, Outcome | Status>): string[] {
  return [...baseline.keys()].filter((id) => ['failed', 'errored', 'interrupted'].includes(statusOf(baseline, id) ?? '')).sort();
}

/** Why one scenario does not pass, reduced to what two scenarios with the same cause share. */
export function causeOf(o: Outcome): string {
  const panic = o.findings?.find((f) => f.kind === 'panic');
  const first = o.findings?.[0];
  if (o.error?.phase === 'boot') return `tip kernel does not boot: ${first?.title ?? firstLine(o.error.message)}`;
  if (first) return `${panic && first !== panic ? `${first.title}, then ${panic.title}` : first.title}`;
  if (o.error) return firstLine(o.error.message);
  return o.failures?.[0] ?? o.status;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** The cause every regression shares, if there are two or more and they share one. */
export function sharedCause(regressed: readonly Outcome[]): string | undefined {
  if (regressed.length === 0) return undefined;
  const causes = new Set(regressed.map(causeOf));
  if (causes.size !== 1) return undefined;
  const cause = [...causes][0]!;
  if (regressed.length === 1 || cause.startsWith('tip kernel does not boot')) return cause;
  return `all ${regressed.length} regressions share one cause: ${cause}`;
}

/** Crash titles on the tip, each marked new or already on the baseline. */
export function findingsDiff(baseline: [string, Outcome][], tip: [string, Outcome][]): Comparison['findings'] {
  const before = new Set(baseline.flatMap(([, o]) => (o.findings ?? []).map((f) => f.title)));
  const byTitle = new Map<string, string[]>();
  for (const [id, o] of tip) for (const f of o.findings ?? []) byTitle.set(f.title, [...(byTitle.get(f.title) ?? []), id]);
  return [...byTitle]
    .map(([title, scenarios]) => ({ title, scenarios: [...new Set(scenarios)], onBaseline: before.has(title) }))
    .sort((a, b) => Number(a.onBaseline) - Number(b.onBaseline) || a.title.localeCompare(b.title));
}

/** For each scenario, the first prefix (1-based patch number) at which it regressed, if any. */
export function firstBreakingPatch(baseline: ReadonlyMap<string, Outcome | Status>, prefixes: ReadonlyMap<string, Outcome | Status>[]): Map<string, number> {
  const first = new Map<string, number>();
  prefixes.forEach((results, i) => {
    for (const id of results.keys()) {
      if (!first.has(id) && classify(statusOf(baseline, id), statusOf(results, id)) === 'regression') first.set(id, i + 1);
    }
  });
  return first;
}

/** What a prefix says about one scenario: broken or not, or nothing, because it does not build. */
export type PrefixAnswer = boolean | 'untestable';

/**
 * Where bisection put the first breaking patch: exactly k (from === to), or somewhere in
 * from..to when the prefixes between do not build (like `git bisect skip`, which then names
 * the candidates rather than guessing one).
 */
export interface FirstBreaking {
  from: number;
  to: number;
}

/**
 * For each id, the first patch k in 1..n at which broken(k, id) holds, knowing it holds at n
 * and not at 0 (the baseline): a binary search per id. broken() is asked O(log n) times per id;
 * the caller memoises whatever a prefix costs. A prefix that is untestable is stepped around:
 * the nearest testable prefix to the midpoint is asked instead, and when none is left between
 * the bounds the answer is the range.
 */
export async function bisectFirstBreaking(ids: readonly string[], n: number, broken: (k: number, id: string) => Promise<PrefixAnswer>): Promise<Map<string, FirstBreaking>> {
  const first = new Map<string, FirstBreaking>();
  const untestable = new Set<number>();
  for (const id of ids) {
    // Invariant: every prefix below lo is known good, prefix hi is known broken.
    let lo = 1;
    let hi = n;
    while (lo < hi) {
      const asked = await nearestTestable(lo, hi - 1, untestable, (k) => broken(k, id));
      if (asked === null) break;
      if (asked.broken) hi = asked.k;
      else lo = asked.k + 1;
    }
    first.set(id, { from: lo, to: hi });
  }
  return first;
}

/** Asks the prefixes of lo..hi from the middle outwards until one answers; null if none can. */
async function nearestTestable(lo: number, hi: number, untestable: Set<number>, ask: (k: number) => Promise<PrefixAnswer>): Promise<{ k: number; broken: boolean } | null> {
  const mid = Math.floor((lo + hi) / 2);
  for (let d = 0; mid - d >= lo || mid + d <= hi; d++) {
    for (const k of d === 0 ? [mid] : [mid + d, mid - d]) {
      if (k < lo || k > hi || untestable.has(k)) continue;
      const answer = await ask(k);
      if (answer !== 'untestable') return { k, broken: answer };
      untestable.add(k);
    }
  }
  return null;
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
  const lines = [`${'scenario'.padEnd(width)}  baseline     tip          change`];
  for (const r of c.rows) lines.push(`${r.id.padEnd(width)}  ${String(r.baseline ?? '-').padEnd(11)}  ${String(r.tip ?? '-').padEnd(11)}  ${r.change === 'regression' ? 'REGRESSION' : r.change}`);
  if (c.findings.length > 0) {
    lines.push('', 'kernel reports on the tip:');
    for (const f of c.findings) lines.push(`  ${f.onBaseline ? 'also on the baseline' : 'NEW'}: ${f.title} (${f.scenarios.length} scenario${f.scenarios.length === 1 ? '' : 's'}: ${f.scenarios.join(', ')})`);
  }
  return lines.join('\n');
}

/** The verdict's last line: what was found, leading with the shared cause; "no regressions" only when it is true. */
export function verdictLine(c: Comparison): string {
  if (c.rows.some((r) => r.change === 'interrupted')) return 'interrupted: no verdict';
  if (c.regressions.length === 0) return 'no regressions';
  return `${c.regressions.length} regression(s)${c.cause ? ` — ${c.cause}` : ''}: ${c.regressions.join(', ')}`;
}
