// Every QEMU the lab starts is recorded here until it is stopped, so `lab clean` can reap a
// stray left by a killed lab process, and `lab ssh` can find a kept VM.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface VmRecord {
  id: string;
  pid: number;
  dir: string;
  sshPort: number;
  kept: boolean;
  startedAt?: string;
  meta: Record<string, unknown>;
}

const registryDir = (cache: string) => join(cache, 'vms');

export async function registerVm(cache: string, record: VmRecord): Promise<void> {
  await mkdir(registryDir(cache), { recursive: true });
  await writeFile(join(registryDir(cache), `${record.id}.json`), JSON.stringify({ ...record, startedAt: new Date().toISOString() }, null, 2));
}

export async function unregisterVm(cache: string, id: string): Promise<void> {
  await rm(join(registryDir(cache), `${id}.json`), { force: true });
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
    return cmdline.some((a) => a.includes('qemu-system')) && cmdline.includes(record.id);
  } catch {
    return false;
  }
}
