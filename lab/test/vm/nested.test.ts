// Nested QEMU (issue 11): QEMU 10 installs through the project's own code into an empty cache
// without touching the system's 7.2, and the nested/ scenarios pass with it in L1 — and with
// the system's 7.2 in L1 on the legacy group/container path.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { checkRuns, ensureQemu10, findQemu10 } from '../../src/image/qemu10.ts';
import { createReporters } from '../../src/report/create.ts';
import { loadScenarios } from '../../src/scenario/loader.ts';
import { plan } from '../../src/scenario/planner.ts';
import { runSession } from '../../src/scenario/session.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache, liveQemus, progress } from './harness.ts';

test.serial('QEMU 10 installs into an empty cache from backports; the system QEMU stays 7.2', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'lab-qemu10-'));
  try {
    t.is(await findQemu10(empty), null);
    const q = await ensureQemu10(empty);
    t.regex(q.version, /^1:10\.0\./);
    t.true(q.binary.startsWith(empty));
    await checkRuns(q);
    t.deepEqual(await findQemu10(empty), q);
    const system = await execa('qemu-system-x86_64', ['--version']);
    t.regex(system.stdout, /version 7\.2\./);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test.serial('nested/ passes with QEMU 10 in L1 over iommufd, and with QEMU 7.2 in L1 over the group and container', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'lab-run-'));
  const jobs = plan(await loadScenarios(join(repoRoot, 'scenarios'), repoRoot), { patterns: ['nested/'] });
  t.true(jobs.length >= 3);
  const reporter = createReporters([], { runDir, interactive: false, stdout: { write: () => true }, stderr: { write: () => true } });
  const { results } = await runSession({ jobs, kernel: { series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, runDir, cache, progress, reporter, parallel: 1, signal: new AbortController().signal });
  const bad = results.filter((r) => r.status !== 'passed').map((r) => ({ id: r.scenario.id, status: r.status, failures: r.failures.slice(0, 5), error: r.error?.message }));
  t.deepEqual(bad, []);
  // The lifecycle scenario really looked at QEMU's trace and the kernel's accounting.
  const life = results.find((r) => r.scenario.id === 'nested/vmm-iommufd-lifecycle');
  t.truthy(life?.artifacts['vmm-trace.log']);
  t.true((life?.steps.length ?? 0) >= 5);
  // The legacy scenario ran QEMU 7.2 in L1 and recorded which files it held.
  const legacy = results.find((r) => r.scenario.id === 'nested/legacy-vmm-dma-lands-in-l2-ram');
  t.is(legacy?.status, 'passed');
  t.truthy(legacy?.artifacts['vmm-fds.txt']);
  t.deepEqual(await liveQemus(), []);
});
