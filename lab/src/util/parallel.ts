// How many guests to run at once by default: one per core, as many as the memory allows beside
// the guests booted ahead. It was one per core but one while every machine change cost a boot
// in the worker's path: two TCG guests on 2 cores were then only 1.24× faster (and their boots
// tripped the kernel's timer check, hence no_timer_check). With boots ahead (scenario/guest-pool.ts)
// the workers spend their time in scenarios, and on 2 cores 2 were 1.39× faster than 1 on the
// whole 33-instance suite (71 s against 99 s, measured here).
import { availableParallelism, freemem } from 'node:os';
import { UsageError } from './errors.ts';

/** QEMU's own memory beside its guest's RAM (~160 MB measured under TCG). */
export const qemuOverheadMiB = 192;
/** What one default guest costs the host: its RAM plus QEMU's own. */
export const guestFootprintMiB = 512 + qemuOverheadMiB;
const hostReserveMiB = 1024;
/** Guests the runner keeps booted ahead, up and waiting for their machine's turn, at most. */
export const guestsBootedAhead = 2;

export function defaultJobs(cores = availableParallelism(), freeMiB = freemem() / 2 ** 20, perGuestMiB = guestFootprintMiB): number {
  return Math.max(1, Math.min(cores, Math.floor((freeMiB - hostReserveMiB) / perGuestMiB) - guestsBootedAhead));
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
