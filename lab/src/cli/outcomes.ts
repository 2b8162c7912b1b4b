// Reading back what a sub-session found: validate and teeth judge outcomes (status, failures,
// kernel findings, error), not bare statuses.
import { join } from 'node:path';
import type { Status } from '../report/events.ts';
import { describeFault, findingTitle } from '../report/format.ts';
import { readReport } from '../report/merge.ts';
import type { Outcome } from '../scenario/compare.ts';

/**
 * The row that stands for the kernel log outside every scenario (between two scenarios in a
 * reused guest, after the last one): no scenario's verdict covers it, so it is compared as a
 * scenario of its own. A WARN there on the tip and not on the baseline is a regression.
 */
export const outsideRow = '(kernel log outside the scenarios)';

/** Each scenario's outcome in a finished sub-session, read back from its report (statuses alone say too little). */
export async function outcomes(dir: string, name: string, statuses: Map<string, Status>): Promise<Map<string, Outcome>> {
  const report = await readReport(join(dir, name)).catch(() => null);
  const byId = new Map((report?.results ?? []).map((r) => [r.scenario.id, r]));
  const rows = new Map([...statuses].map(([id, status]): [string, Outcome] => {
    const r = byId.get(id);
    return [id, { status, failures: r?.failures, findings: r?.findings, error: r?.error, reusedOnly: r?.reusedOnly }];
  }));
  // Without a report there is nothing to say about the log outside the scenarios.
  if (report) {
    const found = report.guestLogs ?? [];
    rows.set(outsideRow, found.length === 0
      ? { status: 'passed' }
      : {
        status: 'failed',
        failures: found.flatMap((g) => [...g.findings.map((k) => `${findingTitle(k)} ${g.where} (${g.log})`), ...g.dmar.map((d) => `unexpected DMAR fault ${describeFault(d)} ${g.where} (${g.log})`)]),
        findings: found.flatMap((g) => g.findings.map((k) => ({ kind: k.kind, title: findingTitle(k) }))),
      });
  }
  return rows;
}
