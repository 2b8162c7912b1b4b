// Shared by the VM tests: real kernel builds (through the user's cache, so CI reuses them),
// real QEMU, and a check that no QEMU outlives a test.
import { mkdtempSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGuest, prepareGuest, resolveAccel, type GuestArtifacts } from '../../src/lab.ts';
import { machineProfile } from '../../src/qemu/profile.ts';
import { CleanupStack } from '../../src/util/cleanup.ts';
import { cacheRoot, repoRoot } from '../../src/util/paths.ts';
import { createProgress } from '../../src/util/progress.ts';

export const cache = cacheRoot();
export const progress = createProgress({ quiet: true });
export const fixtures = join(repoRoot, 'lab/test/fixtures');

export async function guestFor(series: string[] = [], configs: string[] = []): Promise<GuestArtifacts> {
  return prepareGuest({ series, configs, baseConfig: 'tinyconfig', cwd: repoRoot }, cache, progress);
}

/** Boots a guest, hands it to fn, and always tears it down. */
export async function withGuest<T>(guest: GuestArtifacts, fn: (b: Awaited<ReturnType<typeof bootGuest>>) => Promise<T>, options: { variant?: string; cmdline?: string[] } = {}): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'lab-vm-'));
  const cleanup = new CleanupStack();
  try {
    const { accel } = await resolveAccel(cache, guest, dir, progress);
    const booted = await bootGuest({ guest, profile: machineProfile(options.variant), accel, dir, cache, cleanup, progress, extraCmdline: options.cmdline });
    return await fn(booted);
  } finally {
    await cleanup.run();
  }
}

/**
 * QEMU processes this test process started that are still alive: found in /proc, not in the
 * lab's registry, so a teardown that forgot to kill cannot hide one.
 */
export async function liveQemus(): Promise<number[]> {
  const live: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const zombie = / Z /.test(stat.slice(stat.lastIndexOf(')')));
    if (!zombie && cmdline.includes('qemu-system') && cmdline.includes(`lab-${process.pid}-`)) live.push(Number(entry));
  }
  return live;
}
