// The machine's own QEMU (Debian 12: 7.2 from qemu-system-x86) as a tree the vmm-legacy image can
// carry into L1. Installed by dpkg it has the layout of an unpacked .deb rooted at / (usr/bin,
// usr/lib/x86_64-linux-gnu/qemu, usr/share/qemu, usr/share/seabios), so qemu10Layout describes it.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { LabError } from '../util/errors.ts';
import { qemu10Layout, type Qemu10 } from './qemu10.ts';

/** What a vmm image needs of a QEMU tree: where its binary and firmware are, and its version. */
export type QemuTree = Pick<Qemu10, 'root' | 'binary' | 'moduleDir' | 'dataDir' | 'version'>;

export async function systemQemuTree(): Promise<QemuTree> {
  const layout = qemu10Layout('/');
  const r = await execa('dpkg-query', ['-W', '-f', '${Version}', 'qemu-system-x86'], { reject: false, stdin: 'ignore' });
  if (!existsSync(layout.binary) || r.exitCode !== 0) throw new LabError(`no system QEMU at ${layout.binary} (dpkg: ${(r.stderr || r.stdout).trim() || 'qemu-system-x86 not installed'})`, { hint: 'apt-get install --no-install-recommends qemu-system-x86' });
  return { ...layout, version: r.stdout.trim() };
}
