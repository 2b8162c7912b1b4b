import test from 'ava';
import { notJudged, summarize } from '../../../src/report/events.ts';
import { formatSummary, skipLines } from '../../../src/report/format.ts';
import { result } from './report-fixture.ts';

const variant = (id: string, status: Parameters<typeof result>[2], skipReason?: string) => {
  const r = result('cdev', 'x', status, 10, skipReason ? { skipReason } : {});
  return { ...r, scenario: { ...r.scenario, id } };
};

test('a scenario skipped on one machine and run on another is judged; skipped on every machine it is not', (t) => {
  const results = [
    variant('cdev/shared-group@default', 'skipped', 'the functions do not share an IOMMU group here'),
    variant('cdev/shared-group@shared-slot', 'passed'),
    variant('dma/shared-group-dma@default', 'skipped', 'no shared group'),
    variant('dma/shared-group-dma@pt', 'skipped', 'no shared group'),
    variant('peer/iommufd-selftests', 'skipped', 'no reviewed expected-failure list for 6.99.0'),
    variant('cdev/parked-fd', 'passed'),
    // Failed, errored or interrupted: it has an answer (or says it has none) of its own.
    variant('dma/unmap@default', 'skipped', 'x'),
    variant('dma/unmap@pt', 'failed'),
  ];
  t.deepEqual(notJudged(results), ['dma/shared-group-dma', 'peer/iommufd-selftests']);
  const s = summarize(results, 5);
  t.deepEqual(s.notJudged, ['dma/shared-group-dma', 'peer/iommufd-selftests']);
  t.is(formatSummary(s), '2 passed, 1 failed, 0 errored, 5 skipped, 2 not judged (skipped on every machine: dma/shared-group-dma; peer/iommufd-selftests)');
  // No skip, no key: older readers see the summary they know.
  t.false('notJudged' in summarize([variant('cdev/parked-fd', 'passed')], 1));
});

test('the skips are listed with their reasons, first line only, and nothing when nothing skipped', (t) => {
  const lines = skipLines([variant('cdev/a', 'passed'), variant('cdev/b@pt', 'skipped', 'no shared group\nsecond line'), variant('cdev/c', 'skipped')]);
  t.deepEqual(lines, ['skipped (2):', '  cdev/b@pt: no shared group', '  cdev/c: no reason given']);
  t.deepEqual(skipLines([variant('cdev/a', 'passed')]), []);
});
