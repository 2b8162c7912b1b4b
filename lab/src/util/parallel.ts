// How many guests to run at once by default: one per core (a TCG guest keeps a core busy), as
// many as the memory allows with room left for the host.
import { availableParallelism, freemem } from 'node:os';

/** What one guest costs the host: its RAM plus QEMU's own (~160 MB measured under TCG). */
export const guestFootprintMiB = 512 + 192;
const hostReserveMiB = 1024;

export function defaultJobs(cores = availableParallelism(), freeMiB = freemem() / 2 ** 20, perGuestMiB = guestFootprintMiB): number {
  return Math.max(1, Math.min(cores, Math.floor((freeMiB - hostReserveMiB) / perGuestMiB)));
}
