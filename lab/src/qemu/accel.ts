// Choosing the accelerator: KVM where it really works, TCG otherwise. When the answer is
// obvious (no vmx/svm flag, or /dev/kvm does not open) it is given at once. Opening /dev/kvm is
// not enough on its own (on paravirtual KVM hosts it opens, and guests die in early boot), so
// where KVM might work the verdict comes from a short real boot of the lab kernel, and is
// remembered per host — unless that boot merely ran out of time, which a loaded machine can
// cause on a host where KVM works.
import { constants, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { keyOf } from '../util/hash.ts';
import { log } from '../util/log.ts';
import { Deadline } from '../util/deadline.ts';
import { UsageError } from '../util/errors.ts';
import type { Accel } from './argv.ts';
import { Machine } from './machine.ts';
import { machineProfile } from './profile.ts';
import { readSerial } from './serial.ts';

export interface AccelVerdict {
  accel: Accel;
  reason: string;
  checkedAt: string;
}

/** What the host tells us without booting anything. */
export interface AccelFacts {
  /** /proc/cpuinfo as read ('' when it cannot be read). */
  cpuinfo: string;
  kvmOpenable: boolean;
  env: NodeJS.ProcessEnv;
}

export type AccelDecision = { kind: 'decided'; accel: Accel; reason: string } | { kind: 'smoke'; reason: string };

const smokeBootMs = 20_000;

/** Time scale for deadlines: TCG emulates every instruction. */
export function timeScale(accel: Accel): number {
  return accel === 'kvm' ? 1 : 4;
}

/** The CPU flags of the first processor, or null when cpuinfo has no flags line (unknown). */
export function cpuFlags(cpuinfo: string): Set<string> | null {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1];
  return line === undefined ? null : new Set(line.trim().split(/\s+/));
}

/**
 * The decision from the facts alone: LAB_ACCEL forces one; a CPU without vmx/svm or a /dev/kvm
 * that does not open means TCG; otherwise only a smoke boot can tell.
 */
export function decideAccel(facts: AccelFacts): AccelDecision {
  const forced = facts.env.LAB_ACCEL?.trim().toLowerCase();
  if (forced === 'kvm' || forced === 'tcg') return { kind: 'decided', accel: forced, reason: 'forced by LAB_ACCEL' };
  if (forced) throw new UsageError(`LAB_ACCEL=${facts.env.LAB_ACCEL}: expected kvm or tcg`);
  const flags = cpuFlags(facts.cpuinfo);
  // KVM needs the CPU's virtualisation extension; a host that hides it (most cloud VMs without
  // nested virtualisation) can still have a /dev/kvm that opens, and guests on it hang.
  if (flags && !flags.has('vmx') && !flags.has('svm')) {
    return { kind: 'decided', accel: 'tcg', reason: 'the CPU has no vmx/svm flag in /proc/cpuinfo (LAB_ACCEL=kvm overrides)' };
  }
  if (!facts.kvmOpenable) return { kind: 'decided', accel: 'tcg', reason: '/dev/kvm cannot be opened read-write' };
  return { kind: 'smoke', reason: flags ? `the CPU has ${flags.has('vmx') ? 'vmx' : 'svm'} and /dev/kvm opens` : '/dev/kvm opens (no CPU flags to read)' };
}

export async function qemuVersion(): Promise<string> {
  const out = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return out.stdout.split('\n')[0] ?? 'unknown';
}

const readCpuinfo = () => readFile('/proc/cpuinfo', 'utf8').catch(() => '');

async function hostKey(): Promise<string> {
  const flags = [...(cpuFlags(await readCpuinfo()) ?? [])].join(' ');
  return keyOf({ host: hostname(), kernel: release(), qemu: await qemuVersion(), flags }).slice(0, 16);
}

/** Opens /dev/kvm read-write, as QEMU will: a permission check alone misses a missing module. */
export async function kvmOpenable(): Promise<boolean> {
  try {
    await (await open('/dev/kvm', constants.O_RDWR)).close();
    return true;
  } catch {
    return false;
  }
}

export async function hostFacts(env = process.env): Promise<AccelFacts> {
  const [cpuinfo, kvm] = await Promise.all([readCpuinfo(), kvmOpenable()]);
  return { cpuinfo, kvmOpenable: kvm, env };
}

export async function cachedVerdict(cache: string): Promise<AccelVerdict | null> {
  try {
    return JSON.parse(await readFile(join(cache, 'accel', `${await hostKey()}.json`), 'utf8')) as AccelVerdict;
  } catch {
    return null;
  }
}

/**
 * The accelerator to use: the facts' verdict when it is obvious; else the remembered smoke-boot
 * verdict; else a smoke boot (the lab kernel under KVM with an init that powers off at once).
 */
export async function chooseAccel(cache: string, smoke: { kernel: string; initrd: string; dir: string }, env = process.env): Promise<AccelVerdict> {
  const checkedAt = new Date().toISOString();
  const decision = decideAccel(await hostFacts(env));
  if (decision.kind === 'decided') return { accel: decision.accel, reason: decision.reason, checkedAt };
  const remembered = await cachedVerdict(cache);
  if (remembered) return remembered;
  const outcome = await smokeBoot(cache, smoke);
  const verdict = { accel: outcome.accel, reason: outcome.reason, checkedAt };
  if (outcome.timedOut) {
    log().warn({ verdict }, 'kvm smoke boot timed out: verdict not remembered');
    return { ...verdict, reason: `${verdict.reason} (not remembered: a loaded machine can do that; the next run tries again)` };
  }
  await mkdir(join(cache, 'accel'), { recursive: true });
  await writeFile(join(cache, 'accel', `${await hostKey()}.json`), JSON.stringify(verdict, null, 2));
  return verdict;
}

async function smokeBoot(cache: string, smoke: { kernel: string; initrd: string; dir: string }): Promise<{ accel: Accel; reason: string; timedOut: boolean }> {
  const machine = await Machine.start({ profile: machineProfile(), accel: 'kvm', kernel: smoke.kernel, initrd: smoke.initrd, dir: smoke.dir, cache, extraCmdline: ['rdinit=/floor'] });
  const deadline = new Deadline('kvm smoke boot', smokeBootMs);
  try {
    while (!machine.hasExited && !deadline.expired()) await new Promise((r) => setTimeout(r, 100));
    const serial = await readSerial(machine.serialLog);
    const ok = machine.hasExited && /reboot: Power down/.test(serial);
    log().info({ ok, serialTail: serial.slice(-2000) }, 'kvm smoke boot');
    if (ok) return { accel: 'kvm', reason: 'a KVM smoke boot reached user space and powered off', timedOut: false };
    if (machine.hasExited) return { accel: 'tcg', reason: 'a KVM smoke boot crashed before user space', timedOut: false };
    return { accel: 'tcg', reason: `a KVM smoke boot did not finish in ${smokeBootMs / 1000} s`, timedOut: true };
  } finally {
    deadline.dispose();
    await machine.stop();
  }
}
