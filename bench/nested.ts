// bench/nested: what a nested (vmm image) scenario costs, phase by phase, next to a plain guest:
// the vmm image (build or cache hit, its size), L1 boot to SSH with and without QEMU 10 in the
// initramfs, QEMU 10 start in L1 until the assigned device is realized (BIND … MAP), its quit,
// and the memory QEMU takes in L1 (VmHWM, VmPin) with a 64 MiB L2.
// Run: flock /tmp/lab-heavy.lock ./labw bench nested [--runs N]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGuest, prepareGuest, resolveAccel, type GuestArtifacts } from '../lab/src/lab.ts';
import { buildVmmImage } from '../lab/src/image/vmm.ts';
import { ensureQemu10 } from '../lab/src/image/qemu10.ts';
import { deviceAddresses, machineProfile } from '../lab/src/qemu/profile.ts';
import { bindToVfio } from '../lab/src/scenario/devices.ts';
import { CleanupStack } from '../lab/src/util/cleanup.ts';
import { cacheRoot, repoRoot } from '../lab/src/util/paths.ts';
import { createProgress } from '../lab/src/util/progress.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const cache = cacheRoot();
const progress = createProgress({ quiet: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

const t0 = Date.now();
const qemu = await ensureQemu10(cache);
const qemuMs = Date.now() - t0;
const t1 = Date.now();
const image = await buildVmmImage(cache, qemu);
const imageMs = Date.now() - t1;
const guest = await prepareGuest({ series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, cache, progress);
const vmmGuest: GuestArtifacts = { ...guest, extraImages: [image.path] };
const work = mkdtempSync(join(tmpdir(), 'lab-bench-nested-'));
const { accel } = await resolveAccel(cache, guest, work, progress);

const plain: number[] = [];
const nested: number[] = [];
const start: number[] = [];
const quit: number[] = [];
const hwm: number[] = [];
const pin: number[] = [];
const used: number[] = [];
for (let i = 0; i < runs; i++) {
  for (const [g, profile, into] of [[guest, machineProfile('default'), plain], [vmmGuest, machineProfile('vmm'), nested]] as const) {
    const cleanup = new CleanupStack();
    try {
      const booted = await bootGuest({ guest: g, profile, accel, dir: join(work, `${profile.name}-${i}`), cache, cleanup, progress });
      into.push(booted.timings.sshMs);
      if (g !== vmmGuest) continue;
      const devices = await bindToVfio(booted.vm, deviceAddresses(profile), ['nvme']);
      let t = Date.now();
      const s = await booted.vm.exec(`VMM_MEM=64 vmm start ${devices.nvme!.bdf}`);
      if (s.exitCode !== 0) throw new Error(`vmm start: ${s.stderr}`);
      start.push(Date.now() - t);
      const status = await booted.vm.sh`cat /proc/$(cat /tmp/vmm/pid)/status`;
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
      hwm.push(kb('VmHWM'));
      pin.push(kb('VmPin'));
      used.push(Number(/^Mem:\s+\d+\s+(\d+)/m.exec(await booted.vm.sh`free -k`)?.[1]));
      t = Date.now();
      await booted.vm.exec('vmm quit');
      quit.push(Date.now() - t);
    } finally {
      await cleanup.run();
    }
  }
}

console.log(`bench/nested — ${accel.toUpperCase()}, kernel ${guest.kernel.release}, QEMU ${qemu.version} in L1, ${runs} runs, medians`);
console.log(`  QEMU 10 in the cache (find or fetch)   ${fmt(qemuMs)}`);
console.log(`  vmm image (${image.hit ? 'cache hit' : 'built'})              ${fmt(imageMs)}   ${mb(image.bytes)} zstd, ${mb(image.unpackedBytes)} unpacked`);
console.log(`  L1 start → SSH, plain image            ${fmt(median(plain))}   [${plain.map(fmt).join(', ')}]`);
console.log(`  L1 start → SSH, vmm image              ${fmt(median(nested))}   [${nested.map(fmt).join(', ')}]`);
console.log(`  vmm start (QEMU 10 up, device BIND…MAP) ${fmt(median(start))}   [${start.map(fmt).join(', ')}]`);
console.log(`  vmm quit                               ${fmt(median(quit))}`);
console.log(`  QEMU in L1: VmHWM ${median(hwm)} kB, VmPin ${median(pin)} kB; L1 memory used with it ${median(used)} kB of ${machineProfile('vmm').memoryMiB} MiB`);
