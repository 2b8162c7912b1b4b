// Every QEMU the lab starts is recorded here until it is stopped, so `./labw clean` can reap a
// stray left by a killed lab process, and `./labw ssh` can find a kept VM. Each record names its
// owner (the lab process, by pid and start time): `./labw clean` in one terminal must never stop
// the guests of a run still going on in another.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { currentOwner, ownerAlive, processStartTime, type Owner } from '../util/owner.ts';

export interface VmRecord {
  id: string;
  pid: number;
  dir: string;
  sshPort: number;
  kept: boolean;
  startedAt?: string;
  /** The lab process that started it; absent in records of older labs. */
  owner?: Owner;
  /** The 0700 directory of its QMP socket, removed with the record. */
  qmpDir?: string;
  meta: Record<string, unknown>;
}

const registryDir = (cache: string) => join(cache, 'vms');

export async function registerVm(cache: string, record: Omit<VmRecord, 'owner'>): Promise<void> {
  await mkdir(registryDir(cache), { recursive: true });
  const full: VmRecord = { ...record, owner: currentOwner(), startedAt: new Date().toISOString() };
  await writeFile(join(registryDir(cache), `${record.id}.json`), JSON.stringify(full, null, 2));
}

export async function unregisterVm(cache: string, id: string): Promise<void> {
  await rm(join(registryDir(cache), `${id}.json`), { force: true });
}

/** Drops the record and what it alone refers to (the QMP socket's directory). */
export async function forgetVm(cache: string, record: VmRecord): Promise<void> {
  if (record.qmpDir) await rm(record.qmpDir, { recursive: true, force: true });
  await unregisterVm(cache, record.id);
}

/**
 * Whether the lab process that started the guest still runs. A record without an owner (an
 * older lab's) counts as orphaned: nothing could tell its owner from a reused pid.
 */
export function ownerRunning(record: VmRecord): boolean {
  return record.owner !== undefined && ownerAlive(record.owner);
}

/**
 * Records that nothing will ever clean up: the owner is gone, the guest was not kept, and its
 * QEMU is gone too (it died with its lab). Removed at start-up; kept guests stay listed until
 * `./labw clean`, and a live stray is left for `./labw clean` to stop and report.
 */
export async function sweepDeadRecords(cache: string): Promise<VmRecord[]> {
  const swept: VmRecord[] = [];
  for (const record of await listVms(cache)) {
    if (record.kept || ownerRunning(record) || (await isOurQemu(record))) continue;
    await forgetVm(cache, record);
    swept.push(record);
  }
  return swept;
}

export async function listVms(cache: string): Promise<VmRecord[]> {
  let names: string[];
  try {
    names = await readdir(registryDir(cache));
  } catch {
    return [];
  }
  const out: VmRecord[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      out.push(JSON.parse(await readFile(join(registryDir(cache), name), 'utf8')) as VmRecord);
    } catch {
      /* a half-written record: ignored */
    }
  }
  return out.sort((a, b) => String(a.startedAt).localeCompare(String(b.startedAt)));
}

/** True if pid is a live QEMU started for this record (its -name carries the id). */
export async function isOurQemu(record: VmRecord): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${record.pid}/cmdline`, 'utf8')).split('\0');
    return processStartTime(record.pid) !== undefined && cmdline.some((a) => a.includes('qemu-system')) && cmdline.includes(record.id);
  } catch {
    return false;
  }
}
