// How many guests to run at once by default: one per core but one (a TCG guest keeps a core
// busy, and the lab itself, SSH and the log scans need one), as many as the memory allows. On
// 2 cores that is 1: measured here, two TCG guests on 2 cores made the whole suite only 1.24×
// faster and their boots slow enough to trip the kernel's timer check.
import { availableParallelism, freemem } from 'node:os';
import { UsageError } from './errors.ts';

/** QEMU's own memory beside its guest's RAM (~160 MB measured under TCG). */
export const qemuOverheadMiB = 192;
/** What one default guest costs the host: its RAM plus QEMU's own. */
export const guestFootprintMiB = 512 + qemuOverheadMiB;
const hostReserveMiB = 1024;

export function defaultJobs(cores = availableParallelism(), freeMiB = freemem() / 2 ** 20, perGuestMiB = guestFootprintMiB): number {
  return Math.max(1, Math.min(cores - 1, Math.floor((freeMiB - hostReserveMiB) / perGuestMiB)));
}

/**
 * The --jobs of a run: a whole number as given, or ("auto", the default) what the cores and the
 * memory allow for the largest guest the run will boot (the vmm guest holds an L2 and its VMM:
 * 768 MiB of RAM, not 512).
 */
export function jobsFor(flag: string | undefined, guestMemoryMiB: readonly number[], cores = availableParallelism(), freeMiB = freemem() / 2 ** 20): number {
  if (flag === undefined || flag === 'auto') return defaultJobs(cores, freeMiB, Math.max(512, ...guestMemoryMiB) + qemuOverheadMiB);
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--jobs ${flag}: give a whole number ≥ 1, or auto`);
  return n;
}
