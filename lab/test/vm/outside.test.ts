// The kernel log outside every scenario is judged: a real WARN (LKDTM) printed between two
// scenarios of one guest, and a real panic after the last scenario, each fail the run, named by
// where they were, though every scenario passed. A reporter that takes its time after a
// scenario ends (a slow disk) holds the worker, so the reports land in the gaps for certain.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createReporters } from '../../src/report/create.ts';
import type { GuestLogFinding, Reporter, ScenarioResult, Summary } from '../../src/report/events.ts';
import { loadScenarios } from '../../src/scenario/loader.ts';
import { plan } from '../../src/scenario/planner.ts';
import { exitCodeFor, runSession } from '../../src/scenario/session.ts';
import { sleep } from '../../src/util/deadline.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache, fixtures, liveQemus, progress } from './harness.ts';

let runDir = '';
let results: ScenarioResult[] = [];
let guestLogs: GuestLogFinding[] = [];
let summary: Summary;

test.before(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'lab-outside-'));
  const jobs = plan(await loadScenarios(join(fixtures, 'scenarios-outside'), repoRoot), { patterns: [] });
  const files = createReporters([], { runDir, interactive: false, stdout: { write: () => true }, stderr: { write: () => true } });
  const slow: Reporter = {
    name: 'slow',
    onEvent: async (e) => {
      await files.onEvent(e);
      // 6 s after the scenarios whose delayed reports come 2 s after their bodies.
      if (e.type === 'scenario-end' && /after-its-verdict$/.test(e.result.scenario.id)) await sleep(6_000);
    },
    close: () => files.close?.(),
  };
  ({ results, guestLogs, summary } = await runSession({ jobs, kernel: { series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, runDir, cache, progress, reporter: slow, parallel: 1, signal: new AbortController().signal, reuseGuests: true }));
});

test.serial('every scenario passed: the reports came after their verdicts', (t) => {
  t.deepEqual(results.map((r) => [r.scenario.id, r.status]), [
    ['outside/a-warns-after-its-verdict', 'passed'],
    ['outside/b-after-the-warn', 'passed'],
    ['outside/c-panics-after-its-verdict', 'passed'],
  ], JSON.stringify(results.map((r) => r.failures)));
});

test.serial('the WARN between two scenarios and the panic after the last are found, named by where', (t) => {
  t.deepEqual(guestLogs.map((g) => [g.where, g.findings.map((f) => f.title)]), [
    ['between outside/a-warns-after-its-verdict and outside/b-after-the-warn', ['WARNING in lkdtm_WARNING']],
    ['after outside/c-panics-after-its-verdict, the last scenario in its guest', ['Kernel panic: dumptest']],
  ]);
  for (const g of guestLogs) t.true(existsSync(join(runDir, g.log)), g.log);
});

test.serial('they fail the run: counted in the summary, exit 1, and in report.json', (t) => {
  t.is(summary.passed, 3);
  t.is(summary.outside, 2);
  t.is(exitCodeFor(summary), 1);
  const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as { summary: Summary; guestLogs: GuestLogFinding[] };
  t.is(report.summary.outside, 2);
  t.deepEqual(report.guestLogs.map((g) => g.where), guestLogs.map((g) => g.where));
});

test.serial('no QEMU is left', async (t) => {
  t.deepEqual(await liveQemus(), []);
});
