import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertResumable, keptResults } from '../../../src/cli/resume-check.ts';
import type { ScenarioResult, Status } from '../../../src/report/events.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { result, run } from '../report/report-fixture.ts';

// Inputs of a "new" run that does not exist: with no identity.json nothing may compare against them.
const nowhere = { base: '/no/such/base.tar.xz', series: ['/no/such/series.mbox'], configs: [], baseConfig: 'tinyconfig', cwd: '/' };

/** A run directory holding a report.json of these results, and no identity.json. */
function handMade(results: ScenarioResult[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'resume-check-'));
  writeFileSync(join(dir, 'report.json'), JSON.stringify({ schemaVersion: 1, run: { ...run, total: results.length }, results }));
  return dir;
}

const passes = Array.from({ length: 33 }, (_, i) => result('cdev', `s${i}`, 'passed', 10));

test('--resume refuses a directory with results but no identity.json, saying what is missing and what to do', async (t) => {
  const dir = handMade(passes);
  const error = await t.throwsAsync(assertResumable(dir, nowhere, [], dir, '7.2'), { instanceOf: UsageError });
  t.is(error?.message, `--resume ${dir}: it holds 33 result(s) (report.json) but no identity record (identity.json), so nothing says which kernel, series and QEMU they came from; none can be kept`);
  t.is(error?.hint, 'run without --resume, or into a new --out directory');
});

test('--resume accepts a directory with no identity.json only when it holds no results', async (t) => {
  await t.notThrowsAsync(assertResumable(handMade([]), nowhere, [], '/tmp', '7.2'));
  await t.notThrowsAsync(assertResumable(mkdtempSync(join(tmpdir(), 'resume-check-')), nowhere, [], '/tmp', '7.2'));
});

test('resuming keeps passed, failed and skipped; interrupted and errored run again, as do scenarios no longer planned', (t) => {
  const statuses: Status[] = ['passed', 'failed', 'skipped', 'interrupted', 'errored'];
  const previous = [...statuses.map((s) => result('cdev', s, s, 10)), result('gone', 'passed', 'passed', 10)];
  const jobs = statuses.map((s) => ({ id: `cdev/${s}` }));
  t.deepEqual(keptResults(previous, jobs).map((r) => r.scenario.id), ['cdev/passed', 'cdev/failed', 'cdev/skipped']);
});
