// The kernel's iommufd selftests that are expected to fail on Debian's 6.12 tree under this lab,
// each with its reason. Reviewed against the selftests' own assertion messages (run 2026-11-23
// on 6.12.117: 159/190 iommufd and 7/7 iommufd_fail_nth passed; these 31 were the failures).
// Anything else that fails fails the pack, and a listed test that starts passing is reported
// too, so the list stays honest. Patterns match the instance names the kselftest harness prints.
// Debian's tree carries selftests newer than its own iommufd (see guest-images/selftests/
// iommufd-compat.h): every entry is a test of behaviour that came after 6.12.

/**
 * The releases the list below was reviewed for: on any other kernel it is not applied (the pack
 * still runs and reports). 6.12.118 (Debian's update, 2026-12-02): the same 31 instances failed,
 * 166 of 197 passed, at the same assertion lines (iommufd.c:229 ×24, :533 ×2, :625 ×2,
 * :767/:780/:809 for area_auto_iova).
 */
export const reviewedFor = { releases: ['6.12.117', '6.12.118'], tree: "Debian's linux-source-6.12" };

export interface ExpectedFailure {
  pattern: RegExp;
  reason: string;
}

export const expectedFailures: ExpectedFailure[] = [
  {
    // 24 instances: the fixture fails in setup, so every test of the variant fails.
    pattern: /^iommufd_ioas\.mock_domain\./,
    reason:
      'the mock_domain variant sets pasid_capable and its setup creates a mock device with MOCK_FLAGS_DEVICE_PASID (iommufd.c:229), a flag 6.12’s iommufd_test does not have: PASID support for iommufd came later',
  },
  {
    pattern: /^iommufd_ioas\.(two_mock_domain|mock_domain_limit)\.get_hw_info$/,
    reason: 'asks IOMMU_GET_HW_INFO for a specific data type with IOMMU_HW_INFO_FLAG_INPUT_TYPE (iommufd.c:625), a newer uAPI flag that 6.12 rejects',
  },
  {
    pattern: /^iommufd_ioas\.(two_mock_domain|mock_domain_limit)\.alloc_hwpt_nested$/,
    reason: 'replaces a mock device’s domain with a fault-capable (IOPF) nested HWPT (iommufd.c:533), which 6.12 refuses for a device without IOPF; the newer kernel allows it',
  },
  {
    pattern: /^iommufd_ioas\.(no_domain|two_mock_domain|mock_domain_limit)\.area_auto_iova$/,
    reason: 'expects automatically allocated IOVAs aligned to the largest power of two dividing the length (iommufd.c:767/780/809), an allocation policy newer than 6.12',
  },
];
