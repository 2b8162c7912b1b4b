import test from 'ava';
import { mayFault, phaseTimings } from '../../../src/scenario/runner.ts';

test('each phase lasts until the next begins, the last until now', (t) => {
  const began = [{ phase: 'boot' as const, at: 1000 }, { phase: 'setup' as const, at: 3900 }, { phase: 'scenario' as const, at: 4200 }, { phase: 'verdict' as const, at: 5400 }];
  t.deepEqual(phaseTimings(began, 5800), [{ phase: 'boot', ms: 2900 }, { phase: 'setup', ms: 300 }, { phase: 'scenario', ms: 1200 }, { phase: 'verdict', ms: 400 }]);
});

test('an attempt that never began a phase has no timings', (t) => {
  t.deepEqual(phaseTimings([], 5000), []);
});

test('only a scenario that does DMA or declares a fault waits for room in the DMAR rate limit', (t) => {
  t.true(mayFault({ tags: ['dma', 'S6'] }));
  t.true(mayFault({ tags: ['reuse'], expectedFaults: [{ device: 'nvme', access: 'write', address: '0x200000' }] }));
  t.false(mayFault({ tags: ['cdev', 'S1'] }));
  t.false(mayFault({ tags: ['iommufd'], expectedFaults: [] }));
});
