// Teeth: does each regression model in kernel-patches/regressions/ fail the scenarios its header
// names, and leave every other scenario as it was on the baseline? Pure evaluation; the CLI runs
// the sessions.
import type { Status } from '../report/events.ts';

export interface ModelHeader {
  file: string;
  subject: string;
  catches: string[];
  reference?: string;
}

/** Reads the `Lab-Catches:` / `Lab-Reference:` trailers of a regression model's message. */
export function parseModelHeader(text: string, file: string): ModelHeader {
  const message = text.split(/^---$/m)[0] ?? text;
  const subject = /^Subject:\s*(?:\[[^\]]*\]\s*)?(.*)$/m.exec(message)?.[1]?.trim() ?? file;
  const catches = [...message.matchAll(/^Lab-Catches:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
  const reference = /^Lab-Reference:\s*(.+)$/m.exec(message)?.[1]?.trim();
  return { file, subject, catches, reference };
}

export type Cell = 'caught' | 'missed' | 'same' | 'changed';

export interface ModelVerdict {
  model: ModelHeader;
  /** Every named scenario failed. */
  caught: boolean;
  missed: string[];
  /** Scenarios not named whose status differs from the baseline. */
  changed: { id: string; baseline: Status | 'absent'; now: Status | 'absent' }[];
  unknown: string[];
  cells: Record<string, Cell>;
}

export function judgeModel(model: ModelHeader, baseline: Map<string, Status>, now: Map<string, Status>): ModelVerdict {
  const unknown = model.catches.filter((id) => !baseline.has(id));
  const missed = model.catches.filter((id) => now.get(id) !== 'failed');
  const cells: Record<string, Cell> = {};
  const changed: ModelVerdict['changed'] = [];
  for (const id of new Set([...baseline.keys(), ...now.keys()])) {
    if (model.catches.includes(id)) cells[id] = now.get(id) === 'failed' ? 'caught' : 'missed';
    else if (baseline.get(id) === now.get(id)) cells[id] = 'same';
    else {
      cells[id] = 'changed';
      changed.push({ id, baseline: baseline.get(id) ?? 'absent', now: now.get(id) ?? 'absent' });
    }
  }
  return { model, caught: model.catches.length > 0 && missed.length === 0 && unknown.length === 0, missed, changed, unknown, cells };
}

const symbol: Record<Cell, string> = { caught: 'CAUGHT', missed: 'MISSED', same: '·', changed: 'CHANGED' };

/** A scenario × model table and the detection rate, for a terminal. */
export function teethTable(verdicts: ModelVerdict[], baseline: Map<string, Status>): string {
  const ids = [...baseline.keys()].sort();
  const width = Math.max(...ids.map((i) => i.length), 8);
  const cols = verdicts.map((_, i) => `M${i + 1}`);
  const lines = [`${'scenario'.padEnd(width)}  baseline  ${cols.map((c) => c.padEnd(8)).join(' ')}`];
  for (const id of ids) lines.push(`${id.padEnd(width)}  ${String(baseline.get(id)).padEnd(8)}  ${verdicts.map((v) => symbol[v.cells[id] ?? 'same'].padEnd(8)).join(' ')}`);
  lines.push('');
  verdicts.forEach((v, i) => {
    const state = v.caught ? 'caught' : 'NOT CAUGHT';
    lines.push(`M${i + 1} ${v.model.file}: ${state} — ${v.model.subject}`);
    if (v.unknown.length) lines.push(`   names scenarios that do not exist: ${v.unknown.join(', ')}`);
    if (v.missed.length) lines.push(`   did not fail: ${v.missed.join(', ')}`);
    for (const c of v.changed) lines.push(`   also changed: ${c.id} ${c.baseline} → ${c.now}`);
  });
  const caught = verdicts.filter((v) => v.caught).length;
  lines.push('', `detection rate: ${caught}/${verdicts.length} models caught`);
  return lines.join('\n');
}
