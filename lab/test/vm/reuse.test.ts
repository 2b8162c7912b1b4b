// Guest reuse keeps verdicts honest: a scenario that leaves the device open in a reused guest is
// the one that fails (the checked reset names what it left), the next one starts clean; a
// scenario that fails only in a guest another scenario used is re-run fresh and reported as
// "fails in a reused guest, passes fresh"; and the last is unaffected. Real guests, one lane.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createReporters } from '../../src/report/create.ts';
import type { ScenarioResult } from '../../src/report/events.ts';
import { loadScenarios } from '../../src/scenario/loader.ts';
import { plan } from '../../src/scenario/planner.ts';
import { runSession } from '../../src/scenario/session.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache, fixtures, liveQemus, progress } from './harness.ts';

let byId: Map<string, ScenarioResult>;

test.before(async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'lab-reuse-'));
  const jobs = plan(await loadScenarios(join(fixtures, 'scenarios-reuse'), repoRoot), { patterns: [] });
  const reporter = createReporters([], { runDir, interactive: false, stdout: { write: () => true }, stderr: { write: () => true } });
  const { results } = await runSession({ jobs, kernel: { series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, runDir, cache, progress, reporter, parallel: 1, signal: new AbortController().signal, reuseGuests: true });
  byId = new Map(results.map((r) => [r.scenario.id, r]));
});

const row = (id: string) => byId.get(`reuse/${id}`)!;

test.serial('a scenario that leaves the device open fails, naming what it left; its own expectations held', (t) => {
  const r = row('a-holds-the-device-open');
  t.is(r.status, 'failed', JSON.stringify(r.error ?? r.failures));
  t.regex(r.failures.join('\n'), /^left for the next user of the guest: \/proc\/\d+ still holds \/dev\/vfio\/devices\/vfio\d+$/m);
  t.false(r.failures.some((f) => /open FDs of the cdev/.test(f)), r.failures.join('\n'));
});

test.serial('the scenario after it gets a clean guest and passes', (t) => {
  t.is(row('b-marks-the-guest').status, 'passed', JSON.stringify(row('b-marks-the-guest').failures));
});

test.serial('a failure only a reused guest shows is re-run fresh and reported, not passed', (t) => {
  const r = row('c-fails-where-marked');
  t.is(r.status, 'failed');
  t.regex(r.failures[0]!, /^fails in a reused guest, passes fresh: the guest is clean: expected .*clean.*, got .*marked/);
  t.true(Object.keys(r.artifacts).some((k) => k.startsWith('fresh-')), Object.keys(r.artifacts).join(' '));
});

test.serial('the last scenario is unaffected, and no QEMU is left', async (t) => {
  t.is(row('d-after').status, 'passed', JSON.stringify(row('d-after').failures));
  t.deepEqual(await liveQemus(), []);
});
