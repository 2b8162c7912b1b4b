// bench/suite: the warm suite of the lab's own scenarios (cdev, dma, iommufd: not the nested or
// selftest packs), as a user runs it (./labw as a whole process, kernel cached): the default
// (guests handed on after a checked reset, --jobs per core) against one fresh guest per
// scenario on one worker (the lab before guest reuse), beside the floor that bench/boot measures
// (one boot to SSH).
// Run: ./labw bench suite [PATTERN…]
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

async function timed(label: string, extra: string[]): Promise<{ s: number; statuses: string }> {
  const out = mkdtempSync(join(tmpdir(), `lab-bench-suite-${label}-`));
  const t0 = Date.now();
  const r = await $`./labw run ${selection} --out ${out} ${extra}`.nothrow();
  const s = (Date.now() - t0) / 1000;
  const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { summary: Record<string, number> };
  const { passed, failed, errored, skipped } = report.summary;
  return { s, statuses: `exit ${r.exitCode}: ${passed} passed, ${failed} failed, ${errored} errored, ${skipped} skipped` };
}

// Warm the caches (kernel, images) so neither timing pays for them.
await $`./labw kernel build`;
const reused = await timed('reused', []);
const fresh = await timed('fresh', ['--jobs', '1', '--no-reuse-guests']);
console.log(`scenarios: ${selection.join(' ')}`);
console.log(`warm suite, default (reused guests, default --jobs):     ${reused.s.toFixed(1)} s   (${reused.statuses})`);
console.log(`warm suite, a fresh guest per scenario, --jobs 1:        ${fresh.s.toFixed(1)} s   (${fresh.statuses})`);
console.log(`ratio fresh / reused: ${(fresh.s / reused.s).toFixed(2)}   goal: ≤ 30 s on 2 cores under TCG`);
