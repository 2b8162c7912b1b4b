// bench/validate: `./labw validate` of a one-patch vfio series (a comment in device_cdev.c) as a
// user runs it, twice: the first run builds the tip and runs baseline and tip; the second finds
// the tip kernel and the baseline's verdicts in the cache and runs only the tip. The floor is
// the same scenarios run once (`./labw run` on the base kernel). Goal: warm ≤ 2 min.
// Run: ./labw bench validate [PATTERN…]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { repoRoot } from '../lab/src/util/paths.ts';

const patterns = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const series = join(repoRoot, 'lab/test/fixtures/series/vfio-comment.mbox');
$.verbose = false;
$.cwd = repoRoot;
$.env = { ...process.env, CI: '1', LAB_NO_BOOTSTRAP: '1' };

async function timed(args: string[]): Promise<{ s: number; last: string; code: number | null }> {
  const out = mkdtempSync(join(tmpdir(), 'lab-bench-validate-'));
  const t0 = Date.now();
  const r = await $`./labw ${args} --out ${out} ${patterns}`.nothrow();
  return { s: (Date.now() - t0) / 1000, last: r.stdout.trim().split('\n').at(-1) ?? '', code: r.exitCode };
}

await $`./labw kernel build`;
const floor = await timed(['run']);
const first = await timed(['validate', '--series', series]);
const warm = await timed(['validate', '--series', series]);
console.log(`floor (the scenarios once, base kernel):       ${floor.s.toFixed(1)} s`);
console.log(`validate, first (tip built, both sessions):    ${first.s.toFixed(1)} s   (exit ${first.code}: ${first.last})`);
console.log(`validate, warm (tip cached, baseline reused):  ${warm.s.toFixed(1)} s   (exit ${warm.code}: ${warm.last})`);
console.log(`ratio warm / floor: ${(warm.s / floor.s).toFixed(2)}   goal: warm ≤ 120 s`);
