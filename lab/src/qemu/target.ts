// Which QEMU runs the guests (L0): the system's (Debian 12: 7.2) or Debian backports' 10.0,
// unpacked into the cache beside it (image/qemu10.ts). A target is resolved once, at the edge
// (cli/qemu-target.ts), into the binary, the directories an unpacked tree must be pointed at and
// the version it reports; the argv builders and the Machine only read it.
import { execa } from 'execa';
import { resolveCommand, memoByStamps } from '../util/memo.ts';
import { z } from 'zod';

export const qemuTargetNames = ['7.2', '10'] as const;
export type QemuTargetName = (typeof qemuTargetNames)[number];

/** Widths QEMU's intel-iommu accepts as aw-bits. */
export const awBitsSchema = z.union([z.literal(39), z.literal(48)]);
export type AwBits = z.infer<typeof awBitsSchema>;

export const qemuTargetSchema = z
  .object({
    /** What --qemu named. */
    name: z.enum(qemuTargetNames),
    binary: z.string(),
    /** Passed as -L (firmware, option ROMs); null: the binary's built-in directory. */
    dataDir: z.string().nullable(),
    /** QEMU_MODULE_DIR; null: the binary's built-in directory. */
    moduleDir: z.string().nullable(),
    /** The first line of `--version`; null where it was not asked (a target not resolved). */
    version: z.string().nullable(),
    /**
     * intel-iommu's aw-bits when none is given (7.2: 39; 9.2 and later: 48); null when unknown.
     * The argv states aw-bits whenever this is not the profile's width.
     */
    awBitsDefault: awBitsSchema.nullable(),
  })
  .strict();

export type QemuTarget = z.infer<typeof qemuTargetSchema>;

/** The system's QEMU as a default before anything is asked of it (Debian 12 ships 7.2). */
export const systemQemu: QemuTarget = { name: '7.2', binary: 'qemu-system-x86_64', dataDir: null, moduleDir: null, version: null, awBitsDefault: 39 };

/** "QEMU emulator version 10.0.2 (Debian …)" → [10, 0]; null for anything else. */
export function parseQemuVersion(line: string): [number, number] | null {
  const m = /QEMU emulator version (\d+)\.(\d+)/.exec(line);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** QEMU 9.2 moved intel-iommu's default aw-bits from 39 to 48 (for the q35 machine of 9.2 on). */
export function awBitsDefaultOf(versionLine: string | null): AwBits | null {
  const v = versionLine ? parseQemuVersion(versionLine) : null;
  if (!v) return null;
  const [major, minor] = v;
  return major > 9 || (major === 9 && minor >= 2) ? 48 : 39;
}

/** The QEMU 10 tree in the cache (image/qemu10.ts's layout) as a target, its version still to be read. */
export function qemu10Target(q: { binary: string; moduleDir: string; dataDir: string }): QemuTarget {
  return { name: '10', binary: q.binary, dataDir: q.dataDir, moduleDir: q.moduleDir, version: null, awBitsDefault: 48 };
}

/** The environment an unpacked QEMU needs (else it loads the system's modules and aborts). */
export function qemuEnv(target: QemuTarget): Record<string, string> {
  return target.moduleDir ? { QEMU_MODULE_DIR: target.moduleDir } : {};
}

/** Arguments that must come right after the binary: -L for a tree that is not the system's. */
export function targetArgs(target: QemuTarget): string[] {
  return target.dataDir ? ['-L', target.dataDir] : [];
}

/** The first line of the target's `--version`, or null if it does not run. */
export async function readQemuVersion(target: QemuTarget): Promise<string | null> {
  // Remembered while the binary is the same file (util/memo.ts): a failure is asked again.
  const binary = resolveCommand(target.binary);
  return memoByStamps(`qemu --version ${binary}`, async () => {
    const r = await execa(target.binary, ['--version'], { env: qemuEnv(target), reject: false, stdin: 'ignore' });
    const version = r.exitCode === 0 ? (r.stdout.split('\n')[0]?.trim() ?? null) : null;
    return { value: version, files: version && binary ? [binary] : [] };
  });
}

/** The target with the version it reports and the aw-bits default that version implies. */
export async function withVersion(target: QemuTarget): Promise<QemuTarget> {
  const version = await readQemuVersion(target);
  if (!version) return target;
  // The version QEMU reports decides the default, not the name it was asked by.
  return { ...target, version, awBitsDefault: awBitsDefaultOf(version) };
}
