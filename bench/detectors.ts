// bench/detectors: what the kernel's own bug detectors cost on the warm suite of the lab's
// scenarios. Three kernels, each built once (cached): the lab kernel with its cheap detectors
// turned off again (kernel-patches/config/bench-no-detectors.config), the lab kernel as it
// ships (KFENCE, DEBUG_LIST, BUG_ON_DATA_CORRUPTION, hung-task and soft-lockup detection), and
// the sanitize kernel (--sanitize: KASAN, lockdep, atomic-sleep checks on top). Each suite runs
// as a user runs it (./labw as a whole process); the figures are wall time and the median boot.
// Goal for the default set: ≤ 15 % over the kernel without detectors.
// Run: ./labw bench detectors [PATTERN…]
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { repoRoot } from '../lab/src/util/paths.ts';

const patterns = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const selection = patterns.length > 0 ? patterns : ['cdev/', 'dma/', 'iommufd/'];
$.verbose = false;
$.cwd = repoRoot;
$.env = { ...process.env, CI: '1', LAB_NO_BOOTSTRAP: '1' };

interface Report {
  summary: Record<string, number>;
  results: { phases?: { phase: string; ms: number }[] }[];
}

const kernels = [
  { label: 'no detectors', flags: ['--config', join(repoRoot, 'kernel-patches/config/bench-no-detectors.config')] },
  { label: 'lab (default detectors)', flags: [] },
  { label: 'sanitize', flags: ['--sanitize'] },
];

const median = (xs: number[]) => ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0);

async function suite(flags: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'lab-bench-detectors-'));
  const t0 = Date.now();
  const r = await $`./labw run ${selection} --out ${out} ${flags}`.nothrow();
  const s = (Date.now() - t0) / 1000;
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Report;
  const boots = report.results.flatMap((x) => (x.phases ?? []).filter((p) => p.phase === 'boot').map((p) => p.ms));
  const { passed, failed, errored, skipped } = report.summary;
  return { s, bootMs: median(boots), statuses: `exit ${r.exitCode}: ${passed} passed, ${failed} failed, ${errored} errored, ${skipped} skipped`, out };
}

const rows = [];
for (const k of kernels) {
  // Built (or found) first, so the suite's time is the suite's.
  const build = await $`./labw kernel build ${k.flags}`.nothrow();
  if (build.exitCode !== 0) throw new Error(`${k.label}: the kernel did not build:\n${build.stderr.slice(-2000)}`);
  rows.push({ ...k, ...(await suite(k.flags)) });
}
const base = rows[0]!;
console.log(`bench/detectors — warm suite of ${selection.join(' ')}, TCG or KVM as the host gives`);
for (const r of rows) {
  const over = ((r.s / base.s - 1) * 100).toFixed(1);
  console.log(`  ${r.label.padEnd(26)} ${r.s.toFixed(1).padStart(6)} s   boot median ${(r.bootMs / 1000).toFixed(2)} s   ${r === base ? '(reference)' : `+${over} % over no detectors`}   (${r.statuses})`);
}
const defaultCost = rows[1]!.s / base.s - 1;
console.log(`ratio default detectors / none: ${(rows[1]!.s / base.s).toFixed(3)}   goal: ≤ 1.15 (${defaultCost <= 0.15 ? 'met' : 'NOT met'})`);
console.log(`ratio sanitize / default: ${(rows[2]!.s / rows[1]!.s).toFixed(2)}`);
