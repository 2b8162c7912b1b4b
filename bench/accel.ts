// bench/accel: how long the accelerator choice takes on this host. Where the answer is obvious
// (no vmx/svm, or no usable /dev/kvm) it must come in ≤ 1 s without booting anything; where
// only a KVM smoke boot can tell, that boot is timed too (first run, then the remembered verdict).
// Run: ./labw bench accel [--runs N]   (or: npx tsx bench/accel.ts)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccel, decideAccel, hostFacts } from '../lab/src/qemu/accel.ts';
import { prepareGuest } from '../lab/src/lab.ts';
import { cacheRoot, repoRoot } from '../lab/src/util/paths.ts';
import { createProgress } from '../lab/src/util/progress.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;
const goalMs = 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

// Facts alone: read /proc/cpuinfo, open /dev/kvm, decide.
const facts: number[] = [];
let decision = decideAccel(await hostFacts());
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  decision = decideAccel(await hostFacts());
  facts.push(performance.now() - t0);
}

// The whole choice, as a run makes it, against a throwaway cache (nothing remembered yet).
const scratch = mkdtempSync(join(tmpdir(), 'lab-bench-accel-'));
let smoke = { kernel: '/nonexistent', initrd: '/nonexistent', dir: join(scratch, 'kvm-smoke') };
if (decision.kind === 'smoke') {
  // Only here is a kernel needed (the lab's default one, a cache hit when it was built before).
  const guest = await prepareGuest({ series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, cacheRoot(), createProgress({ quiet: true }));
  smoke = { kernel: guest.kernel.boot, initrd: guest.baseImage, dir: smoke.dir };
}
const cache = join(scratch, 'cache');
let t0 = performance.now();
let verdict = await chooseAccel(cache, smoke);
const firstMs = performance.now() - t0;
const again: number[] = [];
for (let i = 0; i < runs; i++) {
  t0 = performance.now();
  verdict = await chooseAccel(cache, smoke);
  again.push(performance.now() - t0);
}
rmSync(scratch, { recursive: true, force: true });

const smoked = decision.kind === 'smoke';
console.log(`bench/accel — ${runs} runs each, medians`);
console.log(`  decision                              ${verdict.accel.toUpperCase()} (${verdict.reason})`);
console.log(`  facts + decision (cpuinfo, /dev/kvm)  ${fmt(median(facts))}   [max ${fmt(Math.max(...facts))}]`);
console.log(`  chooseAccel, fresh cache              ${fmt(firstMs)}${smoked ? '   (includes the KVM smoke boot)' : ''}`);
console.log(`  chooseAccel, again                    ${fmt(median(again))}   [max ${fmt(Math.max(...again))}]`);
console.log(`  ratio fresh choice / ${goalMs / 1000} s goal          ${(firstMs / goalMs).toFixed(4)}${smoked ? '   (KVM might work here: the goal is for obvious answers)' : ''}`);
