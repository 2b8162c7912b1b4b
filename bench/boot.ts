// bench/boot: what a guest costs. Prints the boot floor (same kernel and initramfs, an init
// that powers off at once), boot-to-SSH-ready, one exec round trip, the teardown, and the inner
// loop as a user runs it (`./labw exec -- true`, a fresh process each time), each against the
// floor with the goal issue 10 names (SSH-ready ≤ 1.3×, exec end to end ≤ 1.5×).
// Run: ./labw bench boot [--runs N]   (or: npx tsx bench/boot.ts)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { bootGuest, prepareGuest, resolveAccel } from '../lab/src/lab.ts';
import { buildKeyArchive, concatInitrd } from '../lab/src/image/initramfs.ts';
import { Machine } from '../lab/src/qemu/machine.ts';
import { machineProfile } from '../lab/src/qemu/profile.ts';
import { generateKeyPair } from '../lab/src/guest/ssh.ts';
import { CleanupStack } from '../lab/src/util/cleanup.ts';
import { sleep } from '../lab/src/util/deadline.ts';
import { cacheRoot, repoRoot } from '../lab/src/util/paths.ts';
import { createProgress } from '../lab/src/util/progress.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const cache = cacheRoot();
const progress = createProgress({ quiet: true });
const profile = machineProfile();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const guest = await prepareGuest({ series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, cache, progress);
const work = mkdtempSync(join(tmpdir(), 'lab-bench-'));
const { accel } = await resolveAccel(cache, guest, work, progress);

// The floor: QEMU start to QEMU exit with an init that powers off immediately.
const floor: number[] = [];
const keyArchive = await buildKeyArchive(work, generateKeyPair().publicKey);
const initrd = await concatInitrd([guest.baseImage, guest.probeImage, keyArchive], join(work, 'initrd.img'));
for (let i = 0; i < runs; i++) {
  const t0 = Date.now();
  const m = await Machine.start({ profile, accel, kernel: guest.kernel.boot, initrd, dir: join(work, `floor-${i}`), cache, extraCmdline: ['rdinit=/floor'] });
  while (!m.hasExited && Date.now() - t0 < 60_000) await sleep(10);
  floor.push(Date.now() - t0);
  await m.stop();
}

const ready: number[] = [];
const sshReady: number[] = [];
const roundTrips: number[] = [];
const teardown: number[] = [];
for (let i = 0; i < runs; i++) {
  const cleanup = new CleanupStack();
  try {
    const booted = await bootGuest({ guest, profile, accel, dir: join(work, `boot-${i}`), cache, cleanup, progress });
    ready.push(booted.timings.readyMs);
    sshReady.push(booted.timings.sshMs);
    for (let j = 0; j < 5; j++) roundTrips.push((await booted.vm.exec('true')).ms);
  } finally {
    const t0 = Date.now();
    await cleanup.run();
    teardown.push(Date.now() - t0);
  }
}

// The inner loop end to end: node start, cache checks, boot, SSH, the command, teardown.
const endToEnd: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = Date.now();
  await execa(join(repoRoot, 'labw'), ['exec', '--', 'true'], { env: { LAB_NO_BOOTSTRAP: '1', CI: '1' } });
  endToEnd.push(Date.now() - t0);
}

const f = median(floor);
const s = median(sshReady);
console.log(`bench/boot — ${accel.toUpperCase()}, kernel ${guest.kernel.release}, ${runs} runs each, medians`);
console.log(`  boot floor (start → poweroff)     ${fmt(f)}   [${floor.map(fmt).join(', ')}]`);
console.log(`  start → ready marker              ${fmt(median(ready))}`);
console.log(`  start → SSH ready                 ${fmt(s)}   [${sshReady.map(fmt).join(', ')}]`);
console.log(`  exec round trip (\`true\`)          ${median(roundTrips)} ms`);
console.log(`  teardown (SSH close, QEMU stop)    ${median(teardown)} ms`);
console.log(`  ./labw exec -- true, end to end   ${fmt(median(endToEnd))}   [${endToEnd.map(fmt).join(', ')}]`);
console.log(`  ratio SSH-ready / floor           ${(s / f).toFixed(2)}   goal ≤ 1.30`);
console.log(`  ratio exec end to end / floor     ${(median(endToEnd) / f).toFixed(2)}   goal ≤ 1.50`);
