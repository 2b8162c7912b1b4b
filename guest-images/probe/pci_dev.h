/* Driving a bound vfio-pci device from user space: its config space
 * (region 7) and a BAR as a register window.
 *
 * The window is an mmap of the BAR when vfio-pci allows it; otherwise
 * registers go through pread/pwrite of the region, which every bound
 * device supports. Reports say which ("bar_access").
 */
#ifndef PROBE_PCI_DEV_H
#define PROBE_PCI_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct bar {
	int fd;
	uint64_t offset;	/* the region's file offset */
	uint64_t size;
	volatile uint8_t *map;	/* NULL: registers go through pread/pwrite */
	size_t map_len;
	bool mmapped;		/* the window was an mmap (also after bar_close) */
	int mmap_err;		/* why mmap failed, or 0 */
	int io_err;		/* first pread/pwrite errno, or 0 */
};

/* Prepares FD's device for DMA by its own driver: GET_REGION_INFO of BAR
 * INDEX and of config; COMMAND |= MEMORY | MASTER | INTX_DISABLE (no
 * interrupts: the probe polls, and an unclaimed INTx line could be shared
 * with the guest's SSH NIC); BAR window. *command is COMMAND as read back
 * (0 if not reached). Returns 0, or -1 with *r and *stage set to the call
 * that failed ("region-info", "config-read", "config-write"). */
int pci_dev_open(int fd, unsigned index, struct bar *b, uint16_t *command,
		 struct sysret *r, const char **stage);

/* munmaps the window (if mapped). */
struct sysret bar_close(struct bar *b);

/* 32-bit register access. A failed pread reads as 0xffffffff, the value a
 * PCI read that nobody answers returns; b->io_err keeps the first errno. */
uint32_t bar_rd32(struct bar *b, uint32_t reg);
void bar_wr32(struct bar *b, uint32_t reg, uint32_t v);

/* Writes "command", "bar_access", "bar_size", "mmap_errname", "bar_errname"
 * (command null when b is NULL or COMMAND was not read). */
void pci_emit(const struct bar *b, uint16_t command);

#endif
