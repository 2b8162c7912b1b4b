// Choosing the accelerator: KVM where it really works, TCG otherwise. Opening /dev/kvm is not
// enough (on paravirtual KVM hosts it opens, and guests die in early boot), so the verdict
// comes from a short real boot of the lab kernel, and is remembered per host.
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { keyOf } from '../util/hash.ts';
import { log } from '../util/log.ts';
import { Deadline } from '../util/deadline.ts';
import type { Accel } from './argv.ts';
import { Machine } from './machine.ts';
import { machineProfile } from './profile.ts';
import { readSerial } from './serial.ts';

export interface AccelVerdict {
  accel: Accel;
  reason: string;
  checkedAt: string;
}

/** Time scale for deadlines: TCG emulates every instruction. */
export function timeScale(accel: Accel): number {
  return accel === 'kvm' ? 1 : 4;
}

export async function qemuVersion(): Promise<string> {
  const out = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  return out.stdout.split('\n')[0] ?? 'unknown';
}

async function hostKey(): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  return keyOf({ host: hostname(), kernel: release(), qemu: await qemuVersion(), flags }).slice(0, 16);
}

export async function kvmOpenable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function cachedVerdict(cache: string): Promise<AccelVerdict | null> {
  try {
    return JSON.parse(await readFile(join(cache, 'accel', `${await hostKey()}.json`), 'utf8')) as AccelVerdict;
  } catch {
    return null;
  }
}

/**
 * The accelerator to use. LAB_ACCEL=kvm|tcg forces one. Otherwise the remembered verdict,
 * or a smoke boot: the lab kernel under KVM with an init that powers off at once.
 */
export async function chooseAccel(cache: string, smoke: { kernel: string; initrd: string; dir: string }, env = process.env): Promise<AccelVerdict> {
  const forced = env.LAB_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, reason: 'forced by LAB_ACCEL', checkedAt: new Date().toISOString() };
  const remembered = await cachedVerdict(cache);
  if (remembered) return remembered;
  const verdict = (await kvmOpenable()) ? await smokeBoot(cache, smoke) : { accel: 'tcg' as const, reason: '/dev/kvm cannot be opened', checkedAt: new Date().toISOString() };
  await mkdir(join(cache, 'accel'), { recursive: true });
  await writeFile(join(cache, 'accel', `${await hostKey()}.json`), JSON.stringify(verdict, null, 2));
  return verdict;
}

async function smokeBoot(cache: string, smoke: { kernel: string; initrd: string; dir: string }): Promise<AccelVerdict> {
  const checkedAt = new Date().toISOString();
  const machine = await Machine.start({ profile: machineProfile(), accel: 'kvm', kernel: smoke.kernel, initrd: smoke.initrd, dir: smoke.dir, cache, extraCmdline: ['rdinit=/floor'] });
  const deadline = new Deadline('kvm smoke boot', 20_000);
  try {
    while (!machine.hasExited && !deadline.expired()) await new Promise((r) => setTimeout(r, 100));
    const serial = await readSerial(machine.serialLog);
    const ok = machine.hasExited && /reboot: Power down/.test(serial);
    log().info({ ok, serialTail: serial.slice(-2000) }, 'kvm smoke boot');
    if (ok) return { accel: 'kvm', reason: 'a KVM smoke boot reached user space and powered off', checkedAt };
    return { accel: 'tcg', reason: machine.hasExited ? 'a KVM smoke boot crashed before user space' : 'a KVM smoke boot did not finish in 20 s', checkedAt };
  } finally {
    deadline.dispose();
    await machine.stop();
  }
}
