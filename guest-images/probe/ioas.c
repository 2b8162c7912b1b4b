#define _GNU_SOURCE
#include "ioas.h"

#include <sys/ioctl.h>

#include <linux/iommufd.h>

struct sysret ioas_map(int ifd, uint32_t ioas, const void *va, size_t len,
		       uint64_t iova, bool writeable)
{
	/* On the stack, not the scratch page: callers may be in the middle
	 * of using scratch() for something else. */
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 (writeable ? IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return sysret_of(ioctl(ifd, IOMMU_IOAS_MAP, &m));
}

struct sysret ioas_unmap(int ifd, uint32_t ioas, uint64_t iova, size_t len)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};

	return sysret_of(ioctl(ifd, IOMMU_IOAS_UNMAP, &u));
}
