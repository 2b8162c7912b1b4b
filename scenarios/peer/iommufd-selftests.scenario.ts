// The kernel's own iommufd selftests as a peer suite: iommufd objects and uAPI against the mock
// IOMMU (CONFIG_IOMMUFD_TEST, in the lab kernel), on a machine of its own (intel_iommu=off).
import { join } from 'node:path';
import { parseKselftestTap, scenario } from '../../lab/src/api.ts';
import { expectedFailures, reviewedFor } from './selftest-expectations.ts';

const binaries = ['iommufd', 'iommufd_fail_nth'];

export default scenario(
  'kernel-iommufd-selftests',
  {
    devices: [],
    machine: 'selftest',
    timeoutMs: 180_000,
    tags: ['peer', 'selftest'],
    concern: {
      text: 'The kernel’s own iommufd selftests (tools/testing/selftests/iommu) must pass on the tree under test, except for a reviewed list of failures with reasons.',
      ref: 'tools/testing/selftests/iommu (iommufd, iommufd_fail_nth)',
    },
  },
  async ({ vm, kernel, expect, step, skip, attach }) => {
    if (!kernel.selftests) skip('the kernel under test was built without CONFIG_IOMMUFD_TEST');
    // The expected-failure list was reviewed for the releases it names; judging another kernel by it would
    // claim more than was checked. There the pack runs and reports, and gives no verdict.
    const reviewed = reviewedFor.releases.includes(kernel.release);
    const tally: Record<string, number> = { pass: 0, fail: 0, skip: 0 };
    for (const name of binaries) {
      const r = await step(`run ${name}`, async () => {
        await vm.upload(join(kernel.selftests!, name), `/tmp/${name}`, 0o755);
        return vm.exec(`cd /tmp && ./${name}`, { timeoutMs: 120_000 });
      });
      await attach(`${name}.tap`, r.stdout + (r.stderr ? `\n# stderr:\n${r.stderr}` : ''));
      const { plan, results } = parseKselftestTap(r.stdout);
      expect(results.length, `${name}: test results parsed (plan ${plan})`).toBe(plan);
      for (const t of results) {
        const seen = t.status === 'skip' ? 'skip' : t.status === 'pass' ? 'pass' : 'fail';
        tally[seen]!++;
        if (!reviewed) continue;
        const xfail = expectedFailures.find((e) => e.pattern.test(t.name));
        const observed = t.status === 'skip' ? 'skip' : t.status === 'pass' ? 'pass' : 'fail';
        // A skip is accepted (the harness skips what the mock device does not support); a listed
        // test must fail, so a fix that makes it pass is noticed and the list updated.
        expect.outcome(`${name}: ${t.name}`, xfail ? 'fail' : observed === 'skip' ? 'skip' : 'pass', observed);
      }
    }
    if (!reviewed) {
      skip(`no reviewed expected-failure list for ${kernel.release} (the list is for ${reviewedFor.releases.join(', ')}, ${reviewedFor.tree}): ran ${tally.pass! + tally.fail! + tally.skip!} selftests, ${tally.pass} passed, ${tally.fail} failed, ${tally.skip} skipped — results in the .tap artifacts; validate compares them test by test`);
    }
  },
);
