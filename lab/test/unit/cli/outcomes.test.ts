import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outcomes, outsideRow } from '../../../src/cli/outcomes.ts';
import { summarize, type GuestLogFinding, type ScenarioResult, type Status } from '../../../src/report/events.ts';
import { compareRuns } from '../../../src/scenario/compare.ts';
import { result, run } from '../report/report-fixture.ts';

// A sub-session's report.json as the json reporter writes it, and the outcomes validate reads back.
function session(root: string, name: string, results: ScenarioResult[], guestLogs: GuestLogFinding[]): Map<string, Status> {
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, 'report.json'), JSON.stringify({ schemaVersion: 1, run, summary: summarize(results, 1, guestLogs), results, guestLogs }));
  return new Map(results.map((r) => [r.scenario.id, r.status]));
}

const warnBetween: GuestLogFinding = {
  where: 'between cdev/a and cdev/b',
  findings: [{ kind: 'WARN', title: 'WARNING in iommufd_fops_release', line: 'WARNING: CPU: 0 PID: 9 at drivers/iommu/iommufd/main.c:99 iommufd_fops_release+0x1/0x2', excerpt: '' }],
  dmar: [],
  log: 'guests/worker-1-guest-1/outside-1.log',
};

test('a WARN in the log outside the scenarios on the tip, not on the baseline, is a regression of its own row', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lab-outcomes-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const passing = [result('cdev', 'a', 'passed', 1), result('cdev', 'b', 'passed', 1)];
  const baseline = await outcomes(root, 'baseline', session(root, 'baseline', passing, []));
  const tip = await outcomes(root, 'tip', session(root, 'tip', passing, [warnBetween]));
  t.is(baseline.get(outsideRow)?.status, 'passed');
  t.is(tip.get(outsideRow)?.status, 'failed');
  t.deepEqual(tip.get(outsideRow)?.failures, ['WARNING in iommufd_fops_release between cdev/a and cdev/b (guests/worker-1-guest-1/outside-1.log)']);
  const c = compareRuns(baseline, tip);
  // Every scenario passed on both: the finding alone makes the series regress.
  t.deepEqual(c.regressions, [outsideRow]);
  t.deepEqual(c.findings.map((f) => [f.title, f.onBaseline]), [['WARNING in iommufd_fops_release', false]]);
});

test('without a report (the session never wrote one) there is no outside row to compare', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lab-outcomes-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const got = await outcomes(root, 'missing', new Map([['cdev/a', 'errored']]));
  t.deepEqual([...got.keys()], ['cdev/a']);
});
