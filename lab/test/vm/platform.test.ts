// The platform end to end: a real kernel build, a real guest behind the emulated Intel IOMMU,
// real SSH. Each failure mode of issue #2 ends in a clear error and leaves no QEMU behind.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { buildKernel } from '../../src/kernel/build.ts';
import { BootError, PatchError } from '../../src/util/errors.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { cache, debianRelease, fixtures, guestFor, liveQemus, progress, releasePattern, withGuest } from './harness.ts';

test.serial('the default kernel boots behind the vIOMMU with iommufd and answers over SSH', async (t) => {
  const guest = await guestFor();
  await withGuest(guest, async ({ vm }) => {
    const r = await vm.exec('uname -r; ls /sys/kernel/iommu_groups | wc -l; ls /dev/iommu');
    const [release, groups, iommu] = r.stdout.trim().split('\n');
    t.is(r.exitCode, 0);
    t.is(release, await debianRelease());
    t.true(Number(groups) >= 3, `iommu groups: ${groups}`);
    t.is(iommu, '/dev/iommu');
    t.is((await vm.exec('false')).exitCode, 1);
    // The probe was compiled against this kernel's uAPI and sees the devices under test.
    const info = JSON.parse((await vm.exec('vfio-probe info')).stdout) as { devices: { bdf: string; vendor: string; iommu_group: number | null }[] };
    const nvme = info.devices.find((d) => d.vendor === '0x1b36');
    const e1000 = info.devices.find((d) => d.vendor === '0x8086' && d.bdf === '0000:00:04.0');
    t.is(nvme?.bdf, '0000:00:03.0');
    t.not(nvme?.iommu_group, null);
    t.not(e1000?.iommu_group, null);
    t.not(nvme?.iommu_group, e1000?.iommu_group);
  });
  t.deepEqual(await liveQemus(), []);
});

test.serial('the host-made entropy seed has the kernel CRNG ready before the SSH server starts, and is not left in the guest', async (t) => {
  const guest = await guestFor();
  await withGuest(guest, async ({ vm, machine }) => {
    const serial = readFileSync(machine.serialLog, 'utf8');
    const crng = serial.indexOf('random: crng init done');
    t.true(crng >= 0, 'no "crng init done" on the console');
    t.true(crng < serial.indexOf('IOMMUFD-LAB-READY'), 'the CRNG was ready only after init said it was ready');
    t.is((await vm.exec('test -e /etc/lab/rng-seed')).exitCode, 1, 'the seed file is still in the guest');
  });
});

test.serial('exec enforces its timeout in the guest', async (t) => {
  const guest = await guestFor();
  await withGuest(guest, async ({ vm }) => {
    const r = await vm.exec('sleep 30; echo done', { timeoutMs: 1000 });
    t.not(r.exitCode, 0);
    t.false(r.stdout.includes('done'));
    t.true(r.ms < 10_000);
  });
});

test.serial('a series changes the kernel, and the same series again is a cache hit', async (t) => {
  const series = [join(fixtures, 'series/extraversion.mbox')];
  const guest = await guestFor(series);
  t.deepEqual(guest.kernel.patches.map((p) => p.subject), ["localversion: mark kernels built from the lab's test series", "README: say the tree was patched by the lab's test series"]);
  await withGuest(guest, async ({ vm }) => {
    t.regex((await vm.sh`cat /proc/version`), new RegExp(`^Linux version ${releasePattern(await debianRelease())}-labseries `));
  });
  const again = await buildKernel({ series, configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, cache, progress);
  t.true(again.hit);
  t.is(again.key, guest.kernel.key);
});

test.serial('a patch that does not apply names the patch and the file, and leaves nothing behind', async (t) => {
  const error = await t.throwsAsync(guestFor([join(fixtures, 'series/does-not-apply.mbox')]), { instanceOf: PatchError });
  t.regex(error.message, /patch 2\/2 "vfio: a change written for some other tree".* does not apply to drivers\/vfio\/vfio_main\.c/);
  const work = join(cache, 'work');
  t.deepEqual(existsSync(work) ? readdirSync(work) : [], []);
});

test.serial('a guest that panics at boot is reported at once with its serial log', async (t) => {
  const guest = await guestFor();
  const t0 = Date.now();
  const error = await t.throwsAsync(withGuest(guest, async () => {}, { cmdline: ['rdinit=/nonexistent'] }), { instanceOf: BootError });
  t.regex(error.message, /panicked/);
  t.regex(error.serialTail, /Kernel panic - not syncing/);
  t.true(Date.now() - t0 < 30_000, 'reported without waiting for the boot deadline');
  t.deepEqual(await liveQemus(), []);
});

test.serial('a guest whose SSH server never answers is an error naming the phase, and is torn down', async (t) => {
  const guest = await guestFor();
  const error = await t.throwsAsync(withGuest(guest, async () => {}, { cmdline: ['lab.sshd=off'] }), { instanceOf: BootError });
  t.regex(error.message, /^ssh: no answer within/);
  t.regex(error.serialTail, /sshd disabled by lab\.sshd=off/);
  t.deepEqual(await liveQemus(), []);
});

test.serial('the CLI: exec exits with the command status; bad input exits 2 with one clear error', async (t) => {
  const labw = join(repoRoot, 'labw');
  const env = { CI: '1', LAB_NO_BOOTSTRAP: '1' };
  const ok = await execa(labw, ['exec', '--', 'sh', '-c', 'uname -r; exit 3'], { reject: false, env });
  t.is(ok.exitCode, 3);
  t.is(ok.stdout.trim(), await debianRelease());
  const bad = await execa(labw, ['kernel', 'build', '--config', join(fixtures, 'config/misspelt.config')], { reject: false, env });
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /CONFIG_VFIO_DEVICE_CDEVV .* does not exist in this kernel — misspelt/);
  const dep = await execa(labw, ['kernel', 'build', '--config', join(fixtures, 'config/dependency-off.config')], { reject: false, env });
  t.is(dep.exitCode, 2);
  t.regex(dep.stderr, /CONFIG_KVM asked =y .* Kconfig for KVM: if VIRTUALIZATION/);
  const base = await execa(labw, ['exec', '--base', '/nonexistent/linux', '--', 'true'], { reject: false, env });
  t.is(base.exitCode, 2);
  t.regex(base.stderr, /base \/nonexistent\/linux: no such file or directory/);
  const cover = await execa(labw, ['kernel', 'build', '--series', join(fixtures, 'series/cover-only.mbox')], { reject: false, env });
  t.is(cover.exitCode, 2);
  t.regex(cover.stderr, /contains no patches/);
  t.deepEqual(await liveQemus(), []);
});

test.serial('--dry-run prints the command line that runs, but for the port, the name and the QMP directory', async (t) => {
  const labw = join(repoRoot, 'labw');
  const env = { CI: '1', LAB_NO_BOOTSTRAP: '1' };
  const out = mkdtempSync(join(tmpdir(), 'lab-dry-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const dry = await execa(labw, ['exec', '--dry-run', '--out', out, '--', 'true'], { reject: false, env });
  t.is(dry.exitCode, 0, dry.stderr);
  t.deepEqual(await liveQemus(), [], 'the dry run started a QEMU');
  const ran = await execa(labw, ['exec', '--out', out, '--', 'true'], { reject: false, env });
  t.is(ran.exitCode, 0, ran.stderr);
  const script = readFileSync(join(out, 'qemu-cmdline.sh'), 'utf8').split('\n')[1]!;
  const chosenAtStart = (line: string) => line
    .replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, 'hostfwd=tcp:127.0.0.1:PORT-:22')
    .replace(/lab-\d+-[a-z0-9]+|lab-dry-run/g, 'NAME')
    .replace(/\/tmp\/lab-qmp-[A-Za-z0-9]{6}\//g, '/tmp/lab-qmp-DIR/');
  t.is(chosenAtStart(dry.stdout.trim()), chosenAtStart(script));
  t.regex(script, /hostfwd=tcp:127\.0\.0\.1:[1-9]\d*-:22/);
});
