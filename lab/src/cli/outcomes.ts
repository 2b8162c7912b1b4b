// Reading back what a sub-session found: validate and teeth judge outcomes (status, failures,
// kernel findings, error), not bare statuses.
import { join } from 'node:path';
import type { Status } from '../report/events.ts';
import { readReport } from '../report/merge.ts';
import type { Outcome } from '../scenario/compare.ts';

/** Each scenario's outcome in a finished sub-session, read back from its report (statuses alone say too little). */
export async function outcomes(dir: string, name: string, statuses: Map<string, Status>): Promise<Map<string, Outcome>> {
  const report = await readReport(join(dir, name)).catch(() => null);
  const byId = new Map((report?.results ?? []).map((r) => [r.scenario.id, r]));
  return new Map([...statuses].map(([id, status]) => {
    const r = byId.get(id);
    return [id, { status, failures: r?.failures, findings: r?.findings, error: r?.error, reusedOnly: r?.reusedOnly }];
  }));
}
