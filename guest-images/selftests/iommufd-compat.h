/*
 * Force-included (gcc -include) when building tools/testing/selftests/iommu from a Debian
 * 6.12 tree: its selftests were updated past the tree's own uAPI headers (DOMAIN.md §6).
 * Each definition maps a newer name onto what 6.12 has; tests that need the newer kernel
 * behaviour then fail at run time and are listed, with reasons, in
 * scenarios/peer/selftest-expectations.ts.
 */
#include <linux/iommufd.h>

/* Newer uAPI: IOMMU_HW_INFO_TYPE_DEFAULT (= 0) replaced NONE as the "no type" value. */
#ifndef IOMMU_HW_INFO_TYPE_DEFAULT
#define IOMMU_HW_INFO_TYPE_DEFAULT IOMMU_HW_INFO_TYPE_NONE
#endif

/* Newer uAPI: in_data_type shares a union with out_data_type, selected by this flag. */
#ifndef IOMMU_HW_INFO_FLAG_INPUT_TYPE
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)
#define in_data_type out_data_type
#endif

/* Newer mock-device flag and PASID width (drivers/iommu/iommufd/iommufd_test.h). */
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20
