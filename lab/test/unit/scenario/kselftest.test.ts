import test from 'ava';
import { parseKselftestTap } from '../../../src/scenario/kselftest.ts';

test('reads kselftest harness TAP: plan, pass, fail, skip', (t) => {
  const out = [
    'TAP version 13',
    '1..4',
    '# Starting 4 tests from 2 test cases.',
    '#  RUN           iommufd.simple_close ...',
    '#            OK  iommufd.simple_close',
    'ok 1 iommufd.simple_close',
    'not ok 2 iommufd_ioas.mock_domain.pasid_attach',
    'ok 3 iommufd_dirty_tracking.domain_dirty128M_huge.set_dirty_tracking # SKIP hugepages not available',
    'ok 4 iommufd_fail_nth.basic_fail_nth',
    '# FAILED: 3 / 4 tests passed.',
  ].join('\n');
  const { plan, results } = parseKselftestTap(out);
  t.is(plan, 4);
  t.deepEqual(results.map((r) => [r.number, r.name, r.status]), [
    [1, 'iommufd.simple_close', 'pass'],
    [2, 'iommufd_ioas.mock_domain.pasid_attach', 'fail'],
    [3, 'iommufd_dirty_tracking.domain_dirty128M_huge.set_dirty_tracking', 'skip'],
    [4, 'iommufd_fail_nth.basic_fail_nth', 'pass'],
  ]);
  t.is(results[2]!.reason, 'hugepages not available');
});

test('no TAP, no results', (t) => {
  t.deepEqual(parseKselftestTap('Segmentation fault'), { plan: null, results: [] });
});
