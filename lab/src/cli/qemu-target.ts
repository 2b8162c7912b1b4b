// --qemu 7.2|10 resolved at the edge: the system's QEMU, or QEMU 10 from the cache, fetched
// into it when absent. The rest of the lab receives the resolved target (qemu/target.ts).
import { ensureQemu10, findQemu10 } from '../image/qemu10.ts';
import { qemu10Target, readQemuVersion, systemQemu, withVersion, type QemuTarget, type QemuTargetName } from '../qemu/target.ts';
import { LabError } from '../util/errors.ts';

export async function resolveQemu(name: QemuTargetName, cache: string, say: (line: string) => void = () => {}): Promise<QemuTarget> {
  if (name === '7.2') {
    const t = await withVersion(systemQemu);
    if (!t.version) throw new LabError(`--qemu 7.2: ${systemQemu.binary} --version failed: the system's QEMU does not run`, { hint: 'apt-get install qemu-system-x86 (./labw doctor checks it)' });
    return t;
  }
  let target: QemuTarget;
  try {
    target = qemu10Target(await ensureQemu10(cache, { say: (line) => say(`QEMU 10: ${line}`) }));
  } catch (error) {
    throw new LabError(`--qemu 10: QEMU 10 is not in the cache and could not be fetched: ${(error as Error).message}`, {
      hint: (error as LabError).hint ?? "it comes from Debian bookworm-backports through this machine's own apt mirror: check the network, then retry",
      cause: error,
    });
  }
  const t = await withVersion(target);
  if (!t.version) throw new LabError(`--qemu 10: ${t.binary} --version failed`, { hint: 'refresh the unpacked tree: guest-images/vmm/fetch-qemu10.sh --refresh' });
  return t;
}

/** The version a run on this target would record, without fetching anything (null: QEMU 10 is not cached). */
export async function presentQemuVersion(name: QemuTargetName, cache: string): Promise<string | null> {
  if (name === '7.2') return readQemuVersion(systemQemu);
  const q = await findQemu10(cache);
  return q ? readQemuVersion(qemu10Target(q)) : null;
}
