// The vmm guest images: one more archive after base and probe, carrying a QEMU tree, the shared
// libraries ldd resolves for it on this host, the firmware an L2 machine loads, and /usr/bin/vmm
// (guest-images/vmm/vmm.sh), the in-guest driver scenarios use. Two images differ only in the tree:
//   vmm         QEMU 10 (from the cache, see qemu10.ts), at /opt/qemu10: the cdev over iommufd
//   vmm-legacy  the system's QEMU 7.2 (system-qemu.ts), at /opt/qemu72: the group and container
// In the guest: <root>/bin/qemu-system-x86_64, <root>/share (the -L dir), <root>/lib (modules).
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
import { ensureQemu10 } from './qemu10.ts';
import { systemQemuTree, type QemuTree } from './system-qemu.ts';

const recipe = 'vmm-image-1';

export const vmmImageNames = ['vmm', 'vmm-legacy'] as const;
export type VmmImageName = (typeof vmmImageNames)[number];

/** Per image: where its QEMU tree lives in the guest (vmm.sh takes the one present) and where it comes from. */
const vmmImages: Record<VmmImageName, { guestRoot: string; tree: (cache: string) => Promise<QemuTree>; modules: string[] }> = {
  vmm: { guestRoot: '/opt/qemu10', tree: (cache) => ensureQemu10(cache), modules: [] },
  // Debian's 7.2 builds TCG as a module, and even a qtest machine loads its accel ops ("could not
  // load module for type 'tcg-accel-ops'" without it); vfio-pci is built in.
  'vmm-legacy': { guestRoot: '/opt/qemu72', tree: () => systemQemuTree(), modules: ['accel-tcg-x86_64.so'] },
};

/** In the guest, for the QEMU 10 image. */
export const guestQemuRoot = vmmImages.vmm.guestRoot;
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
  qemu: QemuTree;
  /** Bytes of the compressed archive and of what it unpacks to. */
  bytes: number;
  unpackedBytes: number;
}

/** Where each firmware file is in the unpacked tree: SeaBIOS's blobs are in the seabios package. */
function firmwareSource(q: QemuTree, name: string): string {
  return name.startsWith('bios') ? join(q.root, 'usr/share/seabios', name) : join(q.dataDir, name);
}

/** Host path → guest path of every file the archive holds. */
export async function vmmFiles(q: QemuTree, guestRoot = guestQemuRoot, modules: string[] = []): Promise<[string, string][]> {
  const mods = modules.map((m) => [join(q.moduleDir, m), `${guestRoot}/lib/${m}`] as [string, string]);
  // A module's libraries are loaded with it, so ldd asks for them too; the set keeps one copy each.
  const libs = new Set<string>();
  for (const elf of [q.binary, ...mods.map(([from]) => from)]) for (const lib of parseLdd((await execa('ldd', [elf])).stdout)) libs.add(lib);
  return [
    [q.binary, `${guestRoot}/bin/qemu-system-x86_64`],
    ...[...libs].map((lib) => [lib, lib] as [string, string]),
    ...mods,
    ...l2Firmware.map((f) => [firmwareSource(q, f), `${guestRoot}/share/${f}`] as [string, string]),
    [vmmScript, '/usr/bin/vmm'],
  ];
}

/** Builds (or finds) the archive of `image`; `q` overrides where its QEMU tree comes from. */
export async function buildVmmImage(cache: string, q?: QemuTree, image: VmmImageName = 'vmm'): Promise<VmmImage> {
  const spec = vmmImages[image];
  const qemu = q ?? (await spec.tree(cache));
  const files = await vmmFiles(qemu, spec.guestRoot, spec.modules);
  const hashes = await Promise.all(files.map(async ([from, to]) => [to, await sha256File(from)]));
  const key = keyOf({ recipe, hashes }).slice(0, 32);
  const entry = await new Store(join(cache, 'images')).get(`${image}-${key}`, async (out) => {
    const staging = join(out, '.staging');
    let unpackedBytes = 0;
    try {
      for (const [from, to] of files) {
        const dest = join(staging, to);
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(from, dest);
        await chmod(dest, to.includes('/bin/') || to.endsWith('.so') || /\.so\./.test(to) ? 0o755 : 0o644);
      }
      // The modules directory exists, also when empty (QEMU 10: x86's TCG and vfio are built in):
      // QEMU must not fall back to a system module directory that does not exist in the guest.
      await mkdir(join(staging, spec.guestRoot, 'lib'), { recursive: true });
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
 * The guest artifacts with the archive of `image` appended after the probe's (see lab.ts
 * bootGuest). Generic over what a guest is, so image/ need not know the layer above it (eslint DEPS).
 */
export async function withVmmImage<G extends object>(guest: G, cache: string, image: VmmImageName = 'vmm'): Promise<G & { extraImages: string[] }> {
  const built = await buildVmmImage(cache, undefined, image);
  return { ...guest, extraImages: [built.path] };
}
