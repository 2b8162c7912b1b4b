/* IOMMU_IOAS_MAP/UNMAP of memory the probe owns, shared by map-buf and the
 * device drivers (nvme, e1000) that map their own queues and rings. */
#ifndef PROBE_IOAS_H
#define PROBE_IOAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

/* FIXED_IOVA | READABLE, plus WRITEABLE if asked. */
struct sysret ioas_map(int ifd, uint32_t ioas, const void *va, size_t len,
		       uint64_t iova, bool writeable);
struct sysret ioas_unmap(int ifd, uint32_t ioas, uint64_t iova, size_t len);

#endif
