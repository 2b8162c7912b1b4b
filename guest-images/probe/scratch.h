/* One page-aligned, page-sized argument buffer shared by every ioctl.
 *
 * Every ioctl argument lives at the start of this zeroed page, so a kernel
 * that reads more than the struct (a larger argsz, an unknown command
 * treating the pointer as something bigger) finds zeros, not stack garbage,
 * and cannot run off into an unmapped page within the first 4096 bytes.
 */
#ifndef PROBE_SCRATCH_H
#define PROBE_SCRATCH_H

#define SCRATCH_SIZE 4096

/* Returns -1 (errno set) if the page could not be mapped. */
int scratch_init(void);

/* Zeroes the page and returns it. */
void *scratch(void);

#endif
