// The pipeline in one place: kernel → guest image → QEMU machine → SSH. The CLI, the
// scenario runner, the tests and the benchmarks all boot guests through here.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildKernel, type Kernel, type KernelRequest } from './kernel/build.ts';
import { buildBaseImage, buildKeyArchive, buildProbeImage, concatInitrd } from './image/initramfs.ts';
import { chooseAccel, timeScale, type AccelVerdict } from './qemu/accel.ts';
import { initrdPath, type Accel } from './qemu/argv.ts';
import { Machine } from './qemu/machine.ts';
import type { MachineProfile } from './qemu/profile.ts';
import { generateKeyPair, GuestShell, HostKeyError, keepaliveDefaults } from './guest/ssh.ts';
import { Vm } from './guest/vm.ts';
import type { CleanupStack } from './util/cleanup.ts';
import { Deadline } from './util/deadline.ts';
import { BootError } from './util/errors.ts';
import { readSerial, tail } from './qemu/serial.ts';
import { writePrivateFile } from './util/private-file.ts';
import { withPhase, type Progress } from './util/progress.ts';

export interface GuestArtifacts {
  kernel: Kernel;
  baseImage: string;
  probeImage: string;
  /** Archives appended after the probe's (the vmm image: lab/src/image/vmm.ts). */
  extraImages?: string[];
  /** The fingerprint of the base image's SSH host key: the only key the client accepts. */
  hostKey: string;
}

/** Builds (or finds in the cache) the kernel and the guest image for it. */
export async function prepareGuest(req: KernelRequest, cache: string, progress: Progress, signal?: AbortSignal): Promise<GuestArtifacts> {
  // The image's lookup (ldd of dropbear, hashes of its inputs) needs nothing from the kernel: it
  // runs beside the kernel's, and is reported after it as before.
  const basePending = buildBaseImage(cache);
  basePending.catch(() => {}); // awaited below; a kernel error must not leave it unhandled
  const kernel = await buildKernel(req, cache, progress, signal);
  const base = await withPhase(progress, 'guest image', () => basePending, (r) => (r.hit ? 'cache hit' : 'built'));
  const probe = await withPhase(progress, 'guest probe', () => buildProbeImage(cache, kernel.key, kernel.headers), (r) => (r.hit ? 'cache hit' : 'compiled'));
  return { kernel, baseImage: base.path, probeImage: probe.path, hostKey: base.hostKey };
}

/** Base deadlines (KVM); TCG multiplies them by timeScale. */
export const baseTimeouts = { bootMs: 15_000, sshMs: 5_000, execMs: 30_000 };

export async function resolveAccel(cache: string, guest: GuestArtifacts, dir: string, progress: Progress): Promise<AccelVerdict> {
  const verdict = await chooseAccel(cache, { kernel: guest.kernel.boot, initrd: guest.baseImage, dir: join(dir, 'kvm-smoke') });
  if (verdict.accel === 'tcg') progress.info(`accelerator: TCG (${verdict.reason}); deadlines are scaled ×${timeScale('tcg')}`);
  return verdict;
}

export interface BootOptions {
  guest: GuestArtifacts;
  profile: MachineProfile;
  accel: Accel;
  dir: string;
  cache: string;
  cleanup: CleanupStack;
  progress: Progress;
  extraCmdline?: string[];
  keep?: boolean;
  signal?: AbortSignal;
}

export interface Booted {
  vm: Vm;
  machine: Machine;
  privateKeyPath: string;
  timings: { readyMs: number; sshMs: number };
}

/** Boots a guest and connects to it; everything is on the cleanup stack before it can leak. */
export async function bootGuest(opts: BootOptions): Promise<Booted> {
  const scale = timeScale(opts.accel);
  await mkdir(opts.dir, { recursive: true });
  const keys = generateKeyPair();
  // In its own 0700 directory: the run directory's mode is not this module's to decide.
  const privateKeyPath = join(opts.dir, 'ssh', 'id_ed25519');
  await writePrivateFile(privateKeyPath, keys.privateKey);
  const keyArchive = await buildKeyArchive(opts.dir, keys.publicKey);
  const initrd = await concatInitrd([opts.guest.baseImage, opts.guest.probeImage, ...(opts.guest.extraImages ?? []), keyArchive], initrdPath(opts.dir));
  const t0 = Date.now();
  const machine = await Machine.start({
    profile: opts.profile,
    accel: opts.accel,
    kernel: opts.guest.kernel.boot,
    initrd,
    dir: opts.dir,
    cache: opts.cache,
    extraCmdline: opts.extraCmdline,
    detached: opts.keep,
    meta: { privateKeyPath, hostKey: opts.guest.hostKey, kernel: opts.guest.kernel.release, profile: opts.profile.name },
  });
  // A kept guest is the caller's to stop once it is up; one that never came up is always stopped.
  if (!opts.keep) opts.cleanup.push(`qemu ${machine.id}`, () => machine.stop());
  const stopIfKept = async () => {
    if (opts.keep) await machine.stop();
  };
  const boot = new Deadline('boot', baseTimeouts.bootMs * scale, opts.signal);
  try {
    await withPhase(opts.progress, `boot (${opts.accel}, ${opts.profile.name})`, () => machine.waitReady(boot), (r) => `ready after ${(r.ms / 1000).toFixed(1)} s`);
  } catch (error) {
    await stopIfKept();
    throw error;
  } finally {
    boot.dispose();
  }
  const readyMs = Date.now() - t0;
  const sshDeadline = new Deadline('ssh', baseTimeouts.sshMs * scale, opts.signal);
  let shell: GuestShell;
  try {
    shell = await GuestShell.connect({
      port: machine.sshPort,
      privateKey: keys.privateKey,
      hostKey: opts.guest.hostKey,
      deadline: sshDeadline,
      alive: () => !machine.hasExited,
      keepalive: { intervalMs: keepaliveDefaults.intervalMs * scale, countMax: keepaliveDefaults.countMax },
    });
  } catch (error) {
    await stopIfKept();
    if (error instanceof HostKeyError) throw error;
    throw new BootError((error as Error).message, tail(await readSerial(machine.serialLog)), machine.serialLog, {
      hint: 'the guest booted but its SSH server did not answer; the serial log shows whether dropbear started',
      cause: error,
    });
  } finally {
    sshDeadline.dispose();
  }
  opts.cleanup.push('ssh', () => shell.close());
  return { vm: new Vm(machine, shell, baseTimeouts.execMs * scale), machine, privateKeyPath, timings: { readyMs, sshMs: Date.now() - t0 } };
}
