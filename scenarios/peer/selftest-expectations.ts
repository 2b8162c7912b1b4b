// The kernel's iommufd selftests that are expected to fail on Debian's 6.12.117 tree under this
// lab, each with its reason. Reviewed list: anything else that fails fails the pack, and an
// expected failure that starts passing is reported too (the list must be kept honest).
// Patterns match test instance names as the kselftest harness prints them.

export interface ExpectedFailure {
  pattern: RegExp;
  reason: string;
}

export const expectedFailures: ExpectedFailure[] = [];
