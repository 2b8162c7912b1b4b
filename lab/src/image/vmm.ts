// The `vmm` guest image: one more archive after base and probe, carrying QEMU 10 (from the
// cache, see qemu10.ts), the shared libraries ldd resolves for it on this host, the firmware an
// L2 machine loads, and /usr/bin/vmm (guest-images/vmm/vmm.sh), the in-guest driver scenarios
// use. In the guest:
//   /opt/qemu10/bin/qemu-system-x86_64   /opt/qemu10/share (the -L dir)   /opt/qemu10/lib (modules)
// The archive is content-addressed by what it holds, so one build serves every kernel. It is
// zstd-compressed: the kernel unpacks it faster than gzip, which matters under TCG.
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { keyOf, sha256File } from '../util/hash.ts';
import { repoRoot } from '../util/paths.ts';
import { Store } from '../util/store.ts';
import { listTree } from './cpio.ts';
import { parseLdd } from './initramfs.ts';
import { ensureQemu10, type Qemu10 } from './qemu10.ts';

const recipe = 'vmm-image-1';
/** In the guest. */
export const guestQemuRoot = '/opt/qemu10';
/**
 * What an L2 q35 machine reads from -L: qboot.rom (the vmm driver passes -bios qboot.rom: it
 * starts in milliseconds), bios-256k.bin (SeaBIOS, the default), and the option ROMs of a
 * -kernel boot (linuxboot_dma.bin, pvh.bin); kvmvapic.bin is looked for on every pc machine.
 */
export const l2Firmware = ['qboot.rom', 'bios-256k.bin', 'linuxboot_dma.bin', 'pvh.bin', 'kvmvapic.bin'] as const;
const vmmScript = join(repoRoot, 'guest-images/vmm/vmm.sh');

export interface VmmImage {
  path: string;
  hit: boolean;
  qemu: Qemu10;
  /** Bytes of the compressed archive and of what it unpacks to. */
  bytes: number;
  unpackedBytes: number;
}

/** Where each firmware file is in the unpacked tree: SeaBIOS's blobs are in the seabios package. */
function firmwareSource(q: Qemu10, name: string): string {
  return name.startsWith('bios') ? join(q.root, 'usr/share/seabios', name) : join(q.dataDir, name);
}

/** Host path → guest path of every file the archive holds. */
export async function vmmFiles(q: Qemu10): Promise<[string, string][]> {
  const libs = parseLdd((await execa('ldd', [q.binary])).stdout);
  return [
    [q.binary, `${guestQemuRoot}/bin/qemu-system-x86_64`],
    ...libs.map((lib) => [lib, lib] as [string, string]),
    ...l2Firmware.map((f) => [firmwareSource(q, f), `${guestQemuRoot}/share/${f}`] as [string, string]),
    [vmmScript, '/usr/bin/vmm'],
  ];
}

export async function buildVmmImage(cache: string, q?: Qemu10): Promise<VmmImage> {
  const qemu = q ?? (await ensureQemu10(cache));
  const files = await vmmFiles(qemu);
  const hashes = await Promise.all(files.map(async ([from, to]) => [to, await sha256File(from)]));
  const key = keyOf({ recipe, hashes }).slice(0, 32);
  const entry = await new Store(join(cache, 'images')).get(`vmm-${key}`, async (out) => {
    const staging = join(out, '.staging');
    let unpackedBytes = 0;
    try {
      for (const [from, to] of files) {
        const dest = join(staging, to);
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(from, dest);
        await chmod(dest, to.includes('/bin/') || to.endsWith('.so') || /\.so\./.test(to) ? 0o755 : 0o644);
      }
      // The modules directory exists, empty: x86's TCG and vfio are built in, and QEMU must not
      // fall back to a system module directory that does not exist in the guest anyway.
      await mkdir(join(staging, guestQemuRoot, 'lib'), { recursive: true });
      const list = (await listTree(staging)).join('\n') + '\n';
      const du = await execa('du', ['-sb', staging]);
      unpackedBytes = Number(du.stdout.split(/\s/)[0]);
      await execa('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '--reproducible'], { cwd: staging, input: list }).pipe('zstd', ['-q', '-10', '-T0', '-o', join(out, 'vmm.cpio.zst')]);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return { qemuVersion: qemu.version, unpackedBytes };
  });
  const path = join(entry.dir, 'vmm.cpio.zst');
  return { path, hit: entry.hit, qemu, bytes: entry.manifest.files['vmm.cpio.zst']?.size ?? 0, unpackedBytes: Number(entry.manifest.meta.unpackedBytes ?? 0) };
}

/**
 * The guest artifacts with the vmm archive appended after the probe's (see lab.ts bootGuest).
 * Generic over what a guest is, so image/ need not know the layer above it (eslint DEPS).
 */
export async function withVmmImage<G extends object>(guest: G, cache: string): Promise<G & { extraImages: string[] }> {
  const image = await buildVmmImage(cache);
  return { ...guest, extraImages: [image.path] };
}
