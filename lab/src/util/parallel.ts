// How many guests to run at once by default: one per core but one (a TCG guest keeps a core
// busy, and the lab itself, SSH and the log scans need one), as many as the memory allows. On
// 2 cores that is 1: measured here, two TCG guests on 2 cores made the whole suite only 1.24×
// faster and their boots slow enough to trip the kernel's timer check.
import { availableParallelism, freemem } from 'node:os';

/** What one guest costs the host: its RAM plus QEMU's own (~160 MB measured under TCG). */
export const guestFootprintMiB = 512 + 192;
const hostReserveMiB = 1024;

export function defaultJobs(cores = availableParallelism(), freeMiB = freemem() / 2 ** 20, perGuestMiB = guestFootprintMiB): number {
  return Math.max(1, Math.min(cores - 1, Math.floor((freeMiB - hostReserveMiB) / perGuestMiB)));
}
