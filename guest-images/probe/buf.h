/* DMA buffers: page-aligned, mlock'ed anonymous memory whose guest-physical
 * addresses are known, so a step can aim a device at it (through an IOVA
 * mapping) or straight at its GPA (a canary no mapping covers).
 */
#ifndef PROBE_BUF_H
#define PROBE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "handles.h"
#include "result.h"

#define BUF_PAGE 4096
/* "gpas" lists every page of a buffer up to this many pages; null above. */
#define BUF_GPAS_LISTED 256

struct probe_buf {
	unsigned char fill;	/* what every byte held when last filled */
	size_t npages;
	uint64_t *gpas;		/* per page; 0 = pagemap gave no PFN */
	int gpa_err;		/* errno of a failed pagemap read, else 0 */
};

/* Turns HD (kind H_BUF) into a LEN-byte buffer filled with FILL. On
 * failure HD->addr stays MAP_FAILED and *stage names the failed call
 * ("length", "mmap", "mlock", "alloc"). */
struct sysret buf_create(struct handle *hd, size_t len, unsigned char fill,
			 const char **stage);

/* The buffer behind HD, or NULL if HD is missing or its creation failed. */
struct probe_buf *buf_of(const struct handle *hd);

/* Re-reads the GPA of every page (they should not move while mlock'ed and
 * pinned, and the reports show it if they do). */
void buf_refresh_gpas(struct handle *hd);

/* GPA of byte OFF of the buffer; OFF past the end counts from the first
 * page. 0 when unknown (no buffer, no PFN). */
uint64_t buf_gpa_at(const struct handle *hd, unsigned long long off);

/* Writes "gpa" (first page) and "gpas" (every page, hex or null; the list is
 * null for a buffer over BUF_GPAS_LISTED pages). */
void buf_emit_gpas(const struct handle *hd);

#endif
