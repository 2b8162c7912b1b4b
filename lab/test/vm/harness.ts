// Shared by the VM tests: real kernel builds (through the user's cache, so CI reuses them),
// real QEMU, and a check that no QEMU outlives a test.
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { bootGuest, prepareGuest, resolveAccel, type GuestArtifacts } from '../../src/lab.ts';
import { machineProfile } from '../../src/qemu/profile.ts';
import { CleanupStack } from '../../src/util/cleanup.ts';
import { cacheRoot, repoRoot } from '../../src/util/paths.ts';
import { createProgress } from '../../src/util/progress.ts';
import { createReporters } from '../../src/report/create.ts';
import type { ScenarioResult } from '../../src/report/events.ts';
import { loadScenarios } from '../../src/scenario/loader.ts';
import { plan } from '../../src/scenario/planner.ts';
import { runSession } from '../../src/scenario/session.ts';

export const cache = cacheRoot();
export const progress = createProgress({ quiet: true });
export const fixtures = join(repoRoot, 'lab/test/fixtures');

/**
 * The release the default base builds, as Debian's package names it ("6.12.118-1" → "6.12.118"):
 * read from dpkg, not from the lab, so a test of what the guest reports does not check the lab
 * against itself, and does not go stale when Debian ships the next stable update.
 */
export async function debianRelease(): Promise<string> {
  const { stdout } = await execa('dpkg-query', ['-W', '-f', '${Version}', 'linux-source-6.12']);
  const release = /^\d+\.\d+\.\d+/.exec(stdout)?.[0];
  if (!release) throw new Error(`linux-source-6.12: no release in its version "${stdout}"`);
  return release;
}

/** A release as a regular expression source: dots matched literally. */
export const releasePattern = (release: string) => release.replaceAll('.', '\\.');

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

/** Runs the fixture scenarios under lab/test/fixtures/<folder> on the default kernel, one lane, guests handed on. */
export async function runFixtures(folder: string, options: { patterns?: string[]; paceDmar?: boolean } = {}): Promise<{ runDir: string; byId: Map<string, ScenarioResult> }> {
  const runDir = mkdtempSync(join(tmpdir(), `lab-${folder}-`));
  const jobs = plan(await loadScenarios(join(fixtures, folder), repoRoot), { patterns: options.patterns ?? [] });
  const reporter = createReporters([], { runDir, interactive: false, stdout: { write: () => true }, stderr: { write: () => true } });
  const { results } = await runSession({ jobs, kernel: { series: [], configs: [], baseConfig: 'tinyconfig', cwd: repoRoot }, runDir, cache, progress, reporter, parallel: 1, signal: new AbortController().signal, reuseGuests: true, paceDmar: options.paceDmar });
  return { runDir, byId: new Map(results.map((r) => [r.scenario.id, r])) };
}

/** Each artifact a result names that is not on disk, as "ID KEY: PATH". */
export function missingArtifacts(runDir: string, results: Iterable<ScenarioResult>): string[] {
  return [...results].flatMap((r) => Object.entries(r.artifacts).filter(([k, p]) => k !== 'kept' && !existsSync(join(runDir, p))).map(([k, p]) => `${r.scenario.id} ${k}: ${p}`));
}
