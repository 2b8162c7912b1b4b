// The fault matrix: each row a real fault against a real guest — an oops and a WARN from the
// kernel's own LKDTM, a panic from /proc/sysrq-trigger, a QEMU stopped (SIGSTOP) or killed
// (SIGKILL) mid-scenario, and series whose kernel oopses at boot or in BIND — asserting the verdict, its message, that the
// run goes on to the next scenario, and that no QEMU is left.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { createReporters } from '../../src/report/create.ts';
import { renderFaultMatrix, withFaultMatrix } from '../../src/report/fault-matrix.ts';
import type { ScenarioResult } from '../../src/report/events.ts';
import { loadScenarios } from '../../src/scenario/loader.ts';
import { plan } from '../../src/scenario/planner.ts';
import { runSession } from '../../src/scenario/session.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache, fixtures, liveQemus, progress } from './harness.ts';
import { lateCalls } from '../fixtures/scenarios/faults/outlives-its-deadline.scenario.ts';

const labw = join(repoRoot, 'labw');
const env = { LAB_NO_BOOTSTRAP: '1', CI: '1' };

let byId: Map<string, ScenarioResult>;
let wallMs = 0;

test.before(async () => {
  // outlives-its-deadline's late calls come 8 s after its start: wait for them before judging.
  const settle = () => new Promise((r) => setTimeout(r, 10_000));
  const runDir = mkdtempSync(join(tmpdir(), 'lab-faults-'));
  const jobs = plan(await loadScenarios(join(fixtures, 'scenarios'), repoRoot), { patterns: [] });
  const reporter = createReporters([], { runDir, interactive: false, stdout: { write: () => true }, stderr: { write: () => true } });
  const t0 = Date.now();
  // The lab kernel plus MAGIC_SYSRQ, for the sysrq panic row (one more cached kernel).
  const kernel = { series: [], configs: [join(fixtures, 'config/sysrq.config')], baseConfig: 'tinyconfig', cwd: repoRoot };
  const { results } = await runSession({ jobs, kernel, runDir, cache, progress, reporter, parallel: 1, signal: new AbortController().signal });
  wallMs = Date.now() - t0;
  byId = new Map(results.map((r) => [r.scenario.id, r]));
  if (lateCalls.length < 3) await settle();
});

const row = (id: string) => byId.get(`faults/${id}`)!;

test.serial('an oops that kills the guest command fails the scenario, naming the signal and the crash', (t) => {
  const r = row('oops-kills-the-command');
  t.is(r.status, 'failed', JSON.stringify(r.error ?? r.failures));
  t.is(r.failures[0], 'guest command killed by SIGKILL after an oops in the kernel: BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION');
  t.deepEqual(r.findings.map((f) => f.title), ['BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION']);
});

test.serial('a WARN fails the scenario though the command lived and every expectation held', (t) => {
  const r = row('warn-command-lives');
  t.is(r.status, 'failed');
  t.deepEqual(r.findings.map((f) => f.title), ['WARNING in lkdtm_WARNING']);
  t.false(r.failures.some((f) => /the command after the WARN/.test(f)));
});

test.serial('a panic mid-scenario fails it with the panic, and says QEMU exited', (t) => {
  const r = row('panic-mid-scenario');
  t.is(r.status, 'failed', JSON.stringify(r.error ?? r.failures));
  t.true(r.findings.some((f) => f.title === 'Kernel panic: sysrq triggered crash'), JSON.stringify(r.findings.map((f) => f.title)));
  t.regex(r.failures[0]!, /^QEMU exited .*during scenario after Kernel panic: sysrq triggered crash$/);
});

test.serial('a guest stopped mid-scenario is errored within its deadline, with the last console line', (t) => {
  const r = row('guest-stops-answering');
  t.is(r.status, 'errored');
  t.regex(r.error!.message, /no answer.*; last console line: before-the-hang/);
  // Body deadline 10 s × 4 (TCG) plus boot and teardown: well under the 60 s body default.
  t.true(r.ms < 90_000, `${r.ms} ms`);
});

test.serial('a QEMU killed mid-scenario is errored and says how QEMU ended', (t) => {
  const r = row('qemu-killed');
  t.is(r.status, 'errored');
  t.regex(r.error!.message, /^QEMU exited \((signal (9|SIGKILL))\) during scenario/);
});

test.serial('a guest that hangs after the body is failed, not passed: its log could not be read', (t) => {
  const r = row('hangs-after-the-body');
  t.is(r.status, 'failed', JSON.stringify(r.error ?? r.failures));
  t.is(r.error?.phase, 'watchdog');
  t.regex(r.failures[0]!, /^guest stopped answering after the body: its kernel log could not be read; last console line: after-the-body/);
});

test.serial('a WARN in the window of a scenario that skips itself fails it: a skip is judged too', (t) => {
  const r = row('warns-then-skips');
  t.is(r.status, 'failed', JSON.stringify(r));
  t.is(r.skipReason, undefined);
  t.deepEqual(r.findings.map((f) => f.title), ['WARNING in lkdtm_WARNING']);
  t.is(r.failures.at(-1), '(the scenario skipped itself: no shared group on this machine)');
});

test.serial('a list corruption (DEBUG_LIST with BUG_ON_DATA_CORRUPTION) fails the scenario with one finding, not a BUG and an oops besides', (t) => {
  const r = row('list-corruption');
  t.is(r.status, 'failed', JSON.stringify(r.error ?? r.failures));
  t.deepEqual(r.findings.map((f) => [f.kind, f.title]), [['list-corruption', 'list_add corruption in lkdtm_CORRUPT_LIST_ADD']]);
  // The BUG kills the shell that wrote the command: the body's command reports it.
  t.regex(r.failures[0]!, /killed by SIG\w+ after .*list_add corruption in lkdtm_CORRUPT_LIST_ADD/);
});

test.serial("a body that throws still gets its teardowns, newest first; the one that fails is reported beside the body's error", (t) => {
  const r = row('teardown-after-a-throw');
  // A body that throws fails (its error is the first failure); the failed teardown comes after it.
  t.is(r.status, 'failed', JSON.stringify(r.failures));
  t.is(r.error?.message, 'the body threw');
  t.deepEqual(r.failures, ['the body threw', 'teardown "a VMM that will not quit" failed: vmm quit: no answer']);
  t.truthy(r.artifacts['deferred.txt'], JSON.stringify(r.artifacts));
});

test.serial('a body that outlives its deadline is cut off: every later call refused, none in the result', (t) => {
  const r = row('outlives-its-deadline');
  t.is(r.status, 'errored', JSON.stringify(r.failures));
  t.deepEqual(r.steps.map((s) => s.title), ['before the deadline']);
  t.false(r.failures.some((f) => /after the deadline/.test(f)));
  t.deepEqual(lateCalls.map((c) => [c.what, /after the scenario ended .*: refused$/.test(c.error ?? '')]), [['step', true], ['expect', true], ['vm', true]]);
});

test.serial('the run goes on after every fault: the next scenario passes in a fresh guest, and no QEMU is left', async (t) => {
  t.is(row('zz-after-the-faults').status, 'passed', JSON.stringify(row('zz-after-the-faults').failures));
  t.deepEqual(await liveQemus(), []);
  t.log(`fault matrix (6 scenarios): ${(wallMs / 1000).toFixed(1)} s`);
});

test.serial("README's fault matrix is the one these rows give (npm run fault-matrix rewrites it)", (t) => {
  const table = renderFaultMatrix([...byId.values()]);
  const path = join(repoRoot, 'README.md');
  const readme = readFileSync(path, 'utf8');
  if (process.env.FAULT_MATRIX_WRITE === '1') {
    writeFileSync(path, withFaultMatrix(readme, table));
    t.log(`wrote the fault matrix into ${path}`);
    t.pass();
  }
  else t.is(readme, withFaultMatrix(readme, table), 'README.md is stale: run npm run fault-matrix');
});

test.serial('validate: a series whose kernel oopses at boot is a regression, and the verdict says the tip does not boot', async (t) => {
  const r = await execa(labw, ['validate', '--series', join(fixtures, 'series/initcall-null-deref.mbox'), 'cdev/grant', 'cdev/group'], { reject: false, env });
  t.is(r.exitCode, 1, r.stderr.slice(-1500));
  t.regex(r.stdout, /^cdev\/grant-is-per-fd-and-bind-is-single\s+passed\s+failed\s+REGRESSION$/m);
  t.regex(r.stdout, /^2 regression\(s\) — tip kernel does not boot: BUG: kernel NULL pointer dereference in vfio_init: /m);
  t.notRegex(r.stdout, /no regressions/);
});

test.serial('validate: a series whose BIND oopses leads with the shared cause', async (t) => {
  const r = await execa(labw, ['validate', '--series', join(fixtures, 'series/bind-null-deref.mbox'), 'cdev/grant', 'cdev/bind-validates', 'cdev/parked'], { reject: false, env });
  t.is(r.exitCode, 1, r.stderr.slice(-1500));
  // Each of the three BINDs at some point (the parked-FD scenario too: a new FD must bind after the parked one closed).
  t.regex(r.stdout, /^cdev\/parked-fd-blocks-every-op\s+passed\s+failed\s+REGRESSION$/m);
  t.regex(r.stdout, /^3 regression\(s\) — all 3 regressions share one cause: BUG: kernel NULL pointer dereference in vfio_df_ioctl_bind_iommufd: /m);
  t.regex(r.stdout, /NEW: BUG: kernel NULL pointer dereference in vfio_df_ioctl_bind_iommufd \(3 scenarios/);
});

test.serial('validate: a harmless series has no regressions and exits 0', async (t) => {
  const r = await execa(labw, ['validate', '--series', join(fixtures, 'series/extraversion.mbox'), 'cdev/grant', 'cdev/group'], { reject: false, env });
  t.is(r.exitCode, 0, r.stderr.slice(-1500));
  t.regex(r.stdout, /^no regressions$/m);
});
