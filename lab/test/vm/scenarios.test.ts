// The scenarios end to end: every one passes on the default kernel, the reports a run leaves
// are valid, and the RFC-style regression model is caught by the parked-FD scenario.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { createReporters } from '../../src/report/create.ts';
import type { ScenarioResult } from '../../src/report/events.ts';
import { loadScenarios } from '../../src/scenario/loader.ts';
import { plan } from '../../src/scenario/planner.ts';
import { runSession } from '../../src/scenario/session.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache, liveQemus, progress } from './harness.ts';

const regression = join(repoRoot, 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch');

async function runScenarios(patterns: string[], series: string[] = []) {
  const runDir = mkdtempSync(join(tmpdir(), 'lab-run-'));
  const jobs = plan(await loadScenarios(join(repoRoot, 'scenarios'), repoRoot), { patterns });
  let console = '';
  const reporter = createReporters([], { runDir, interactive: false, stdout: { write: (s: string) => (console += s) }, stderr: { write: () => true } });
  const session = await runSession({ jobs, kernel: { series, configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, runDir, cache, progress, reporter, parallel: 1, signal: new AbortController().signal });
  return { ...session, runDir, jobs, console };
}

const notPassed = (results: ScenarioResult[]) => results.filter((r) => r.status !== 'passed').map((r) => ({ id: r.scenario.id, status: r.status, failures: r.failures.slice(0, 5), error: r.error?.message, skip: r.skipReason }));

test.serial('every scenario passes on the default 6.12 kernel, and the run leaves valid reports', async (t) => {
  const { results, summary, runDir, jobs, console } = await runScenarios([]);
  t.true(jobs.length >= 9);
  t.deepEqual(notPassed(results), []);
  t.is(summary.passed, jobs.length);
  // The expectations really ran: S1 checked 260 operations on each of two devices.
  const s1 = results.find((r) => r.scenario.id === 'cdev/parked-fd-blocks-every-op')!;
  t.true(s1.observations.filter((o) => o.expected === 'EINVAL' && o.ok).length >= 520);
  // What the probe printed is kept beside the verdict: the parked sweep of each device, in full.
  const probeRuns = readFileSync(join(runDir, s1.artifacts.probe!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { command: string; exitCode: number; stdout: string });
  const sweeps = probeRuns.filter((p) => /^vfio-probe .* parked /.test(p.command));
  t.is(sweeps.length, 2, probeRuns.map((p) => p.command).join('\n'));
  t.true(sweeps.every((p) => p.exitCode === 0 && (JSON.parse(p.stdout) as { ops: unknown[] }).ops.length >= 260), sweeps.map((p) => p.stdout.slice(0, 200)).join('\n'));

  const json = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) as { schemaVersion: number; results: { scenario: { id: string }; status: string }[]; summary: { passed: number } };
  t.is(json.schemaVersion, 1);
  t.deepEqual(json.results.map((r) => r.scenario.id).sort(), jobs.map((j) => j.id).sort());
  t.is(json.summary.passed, jobs.length);

  const xml = readFileSync(join(runDir, 'report.xml'), 'utf8');
  t.regex(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>/);
  t.regex(xml, new RegExp(`<testsuites[^>]* tests="${jobs.length}" failures="0" errors="0"`));
  t.is(xml.match(/<testcase /g)?.length, jobs.length);
  // xmllint (libxml2-utils) is not installed: well-formedness is checked by balancing tags.
  const opens = xml.match(/<(testsuites|testsuite|testcase)[\s>]/g)?.length ?? 0;
  const closes = (xml.match(/<\/(testsuites|testsuite|testcase)>/g)?.length ?? 0) + (xml.match(/<testcase [^>]*\/>/g)?.length ?? 0);
  t.is(opens, closes);
  t.regex(console, new RegExp(`^${jobs.length} passed, 0 failed, 0 errored, 0 skipped$`, 'm'));
  t.deepEqual(await liveQemus(), []);
});

test.serial('the RFC-style regression model fails the parked-FD scenario, naming the ioctls that got through', async (t) => {
  const { results, run } = await runScenarios(['parked-fd'], [regression]);
  t.is(run.kernel?.patches.length, 1);
  const [s1] = results;
  t.is(s1?.status, 'failed');
  const leaked = s1!.observations.filter((o) => !o.ok).map((o) => o.op);
  // The gate is gone from the ioctl path only: the driver answers ioctls, read/write/mmap stay blocked.
  t.true(leaked.includes('nvme VFIO_DEVICE_GET_INFO'), leaked.slice(0, 5).join(', '));
  t.true(leaked.includes('e1000 VFIO_DEVICE_GET_REGION_INFO'));
  t.false(leaked.some((op) => /(read|write|mmap)-(bar0|config)$/.test(op)));
  t.true(s1!.failures.some((f) => f === 'nvme VFIO_DEVICE_GET_INFO: expected EINVAL, got ok (ret 0)'));
});

test.serial('lab list shows every scenario with its concern', async (t) => {
  const out = await execa(join(repoRoot, 'labw'), ['list'], { env: { LAB_NO_BOOTSTRAP: '1', CI: '1' } });
  const ids = out.stdout.split('\n').filter((l) => /^[a-z]+\/[a-z0-9-]+(@[a-z-]+)?$/.test(l));
  t.true(ids.includes('cdev/parked-fd-blocks-every-op'));
  t.is(out.stdout.match(/^ {2}concern: \S/gm)?.length, ids.length);
});

test.serial('a scenario that skips on every machine it is given is not judged: named with its reason, exit 2', async (t) => {
  // On the default machine the nvme and the e1000 sit in groups of their own: the scenario skips.
  const out = join(mkdtempSync(join(tmpdir(), 'lab-not-judged-')), 'run');
  const r = await execa(join(repoRoot, 'labw'), ['run', '--machine', 'default', 'cdev/shared-group-has-one-owner', '--out', out], { env: { LAB_NO_BOOTSTRAP: '1', CI: '1' }, reject: false, all: true });
  t.is(r.exitCode, 2, r.all);
  t.regex(r.all, /^ {2}cdev\/shared-group-has-one-owner: the functions do not share an IOMMU group here/m);
  t.regex(r.all, /^0 passed, 0 failed, 0 errored, 1 skipped, 1 not judged \(skipped on every machine: cdev\/shared-group-has-one-owner\)$/m);
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { summary: { notJudged?: string[] } };
  t.deepEqual(json.summary.notJudged, ['cdev/shared-group-has-one-owner']);
  t.deepEqual(await liveQemus(), []);
});
