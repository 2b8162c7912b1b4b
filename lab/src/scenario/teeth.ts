// Teeth: does each regression model in kernel-patches/regressions/ fail the scenarios its header
// names, and leave every other scenario as it was on the baseline? Pure evaluation; the CLI runs
// the sessions.
import type { Status } from '../report/events.ts';
import { UsageError } from '../util/errors.ts';
import type { Outcome } from './compare.ts';

/** A claim: this scenario fails under the model — and, when named, with this expectation among its failures. */
export interface Catch {
  id: string;
  expectation?: string;
}

export interface ModelHeader {
  file: string;
  subject: string;
  catches: Catch[];
  reference?: string;
  /**
   * `Lab-Needs: sanitize`: only the sanitize kernel's detectors (KASAN, lockdep) see this model,
   * no contract check does; teeth runs it with --sanitize and says it did not otherwise.
   */
  needs?: 'sanitize';
}

/** Reads the `Lab-Catches:` / `Lab-Reference:` / `Lab-Needs:` trailers of a regression model's message. */
export function parseModelHeader(text: string, file: string): ModelHeader {
  const message = text.split(/^---$/m)[0] ?? text;
  const subject = /^Subject:\s*(?:\[[^\]]*\]\s*)?(.*)$/m.exec(message)?.[1]?.trim() ?? file;
  // "Lab-Catches: cdev/parked-fd-blocks-every-op" or "Lab-Catches: cdev/parked-fd-blocks-every-op: VFIO_DEVICE_GET_INFO"
  const catches = [...message.matchAll(/^Lab-Catches:\s*([^\s:]+(?::[^\s:]+)?)(?::\s+(.+?))?\s*$/gm)].map((m) => ({ id: m[1]!, ...(m[2] ? { expectation: m[2] } : {}) }));
  const reference = /^Lab-Reference:\s*(.+)$/m.exec(message)?.[1]?.trim();
  const needs = /^Lab-Needs:\s*(.+?)\s*$/m.exec(message)?.[1];
  if (needs !== undefined && needs !== 'sanitize') throw new UsageError(`${file}: Lab-Needs: ${needs} is not known (the one kernel a model can need is "sanitize")`);
  return { file, subject, catches, reference, ...(needs ? { needs } : {}) };
}

/**
 * Models whose claims name no scenario that exists (a typo, a renamed scenario, a variant no
 * longer run), or that claim nothing: refused before any kernel is built, since judging them
 * could only end NOT CAUGHT after every build and boot.
 */
export function requireKnownCatches(models: readonly ModelHeader[], ids: ReadonlySet<string>): void {
  const wrong = models.flatMap((m) =>
    m.catches.length === 0 ? [`${m.file} names no scenario (no Lab-Catches: line)`] : m.catches.filter((c) => !ids.has(c.id)).map((c) => `${m.file} names ${c.id}, which is no scenario`));
  if (wrong.length === 0) return;
  throw new UsageError(`regression models with claims nothing can check: ${wrong.join('; ')}`, {
    hint: 'fix their Lab-Catches: lines (SCENARIO-ID or SCENARIO-ID: EXPECTATION); ./labw list names every scenario id',
  });
}

export type Cell = 'caught' | 'missed' | 'same' | 'changed' | 'flaky';

export interface ModelVerdict {
  model: ModelHeader;
  /** Every named scenario passed on the baseline and failed under the model, with the named expectation. */
  caught: boolean;
  /** Named scenarios the model did not fail (or failed without the named expectation), and why. */
  missed: { id: string; why: string }[];
  /** Scenarios not named whose status differs from the baseline. */
  changed: { id: string; baseline: Status | 'absent'; now: Status | 'absent' }[];
  /** Scenarios, named or not, that failed in a reused guest and passed in a fresh one: caught by nothing, changed by nothing. */
  flaky: string[];
  unknown: string[];
  cells: Record<string, Cell>;
}

type Runs = ReadonlyMap<string, Outcome>;

/** Why a claim does not hold, or undefined when the model really caught it. */
function missReason(c: Catch, baseline: Runs, now: Runs): string | undefined {
  const before = baseline.get(c.id)?.status;
  const after = now.get(c.id);
  if (before !== 'passed') return `it did not pass on the baseline (${before ?? 'absent'}): a failure under the model proves nothing`;
  if (after?.status !== 'failed') return `it ${after?.status ?? 'did not run'} under the model${after?.status === 'errored' ? ` (${after.error?.message.split('\n')[0] ?? 'no verdict'})` : ''}`;
  if (c.expectation && !(after.failures ?? []).some((f) => f.includes(c.expectation!))) return `it failed, but not on "${c.expectation}"`;
  return undefined;
}

/** A failure that did not reproduce when the runner re-ran it in a fresh guest: it proves nothing about the model. */
const reusedOnly = (o: Outcome | undefined) => o?.status === 'failed' && o.reusedOnly === true;

export function judgeModel(model: ModelHeader, baseline: Runs, now: Runs): ModelVerdict {
  const named = new Set(model.catches.map((c) => c.id));
  const ids = [...new Set([...baseline.keys(), ...now.keys()])];
  const flaky = ids.filter((id) => reusedOnly(now.get(id))).sort();
  const unknown = model.catches.filter((c) => !baseline.has(c.id)).map((c) => c.id);
  const missed = model.catches.filter((c) => !unknown.includes(c.id) && !flaky.includes(c.id)).flatMap((c) => {
    const why = missReason(c, baseline, now);
    return why ? [{ id: c.id, why }] : [];
  });
  const cells: Record<string, Cell> = {};
  const changed: ModelVerdict['changed'] = [];
  for (const id of ids) {
    const before = baseline.get(id)?.status;
    const after = now.get(id)?.status;
    if (flaky.includes(id)) cells[id] = 'flaky';
    else if (named.has(id)) cells[id] = missed.some((m) => m.id === id) ? 'missed' : 'caught';
    else if (before === after) cells[id] = 'same';
    else {
      cells[id] = 'changed';
      changed.push({ id, baseline: before ?? 'absent', now: after ?? 'absent' });
    }
  }
  const caught = model.catches.length > 0 && missed.length === 0 && unknown.length === 0 && !flaky.some((id) => named.has(id));
  return { model, caught, missed, changed, flaky, unknown, cells };
}

const symbol: Record<Cell, string> = { caught: 'CAUGHT', missed: 'MISSED', same: '·', changed: 'CHANGED', flaky: 'FLAKY' };

/** A scenario × model table and the detection rate, for a terminal. */
export function teethTable(verdicts: ModelVerdict[], baseline: Runs): string {
  const ids = [...baseline.keys()].sort();
  const width = Math.max(...ids.map((i) => i.length), 8);
  const cols = verdicts.map((_, i) => `M${i + 1}`);
  const lines = [`${'scenario'.padEnd(width)}  baseline  ${cols.map((c) => c.padEnd(8)).join(' ')}`];
  for (const id of ids) lines.push(`${id.padEnd(width)}  ${String(baseline.get(id)?.status).padEnd(8)}  ${verdicts.map((v) => symbol[v.cells[id] ?? 'same'].padEnd(8)).join(' ')}`);
  lines.push('');
  verdicts.forEach((v, i) => {
    const state = v.caught ? 'caught' : 'NOT CAUGHT';
    lines.push(`M${i + 1} ${v.model.file}: ${state} — ${v.model.subject}`);
    if (v.unknown.length) lines.push(`   names scenarios that do not exist: ${v.unknown.join(', ')}`);
    for (const m of v.missed) lines.push(`   not caught by ${m.id}: ${m.why}`);
    for (const id of v.flaky) lines.push(`   ${id}: flaky: fails in a reused guest, passes fresh${v.model.catches.some((c) => c.id === id) ? ' (not counted as caught)' : ''}`);
    for (const c of v.changed) lines.push(`   also changed: ${c.id} ${c.baseline} → ${c.now}`);
  });
  const caught = verdicts.filter((v) => v.caught).length;
  const flaky = verdicts.reduce((n, v) => n + v.flaky.length, 0);
  lines.push('', `detection rate: ${caught}/${verdicts.length} models caught${flaky ? ` (${flaky} flaky result(s): fail in a reused guest, pass fresh)` : ''}`);
  return lines.join('\n');
}
