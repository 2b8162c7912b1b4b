import test from 'ava';
import { defaultEstimates, Estimates, pickNext, type Candidate, type Picture } from '../../../src/scenario/schedule.ts';

const jobs = (...keys: string[]): Candidate[] => keys.map((key) => ({ key, reusable: !key.endsWith('!') }));
const picture = (remaining: Candidate[], over: Partial<Picture> = {}): Picture => ({ remaining, held: new Set(), ahead: new Set(), ...defaultEstimates, ...over });

test('a worker keeps to its own guest’s machine while it has jobs, whatever comes first in plan order', (t) => {
  t.is(pickNext(picture(jobs('caching', 'default', 'pt', 'pt'), { warm: 'pt' })), 2);
  // A job that must have a fresh guest is not one its warm guest can serve.
  t.is(pickNext(picture(jobs('default', 'pt!', 'pt'), { warm: 'pt', held: new Set(['default']) })), 2);
});

test('without one, a guest booted ahead comes before plan order, then a machine nobody is on', (t) => {
  t.is(pickNext(picture(jobs('default', 'intremap-off', 'pt'), { ahead: new Set(['pt']) })), 2);
  t.is(pickNext(picture(jobs('default', 'default', 'pt'), { held: new Set(['default']) })), 2);
  t.is(pickNext(picture(jobs('default', 'pt'))), 0);
  // A fresh-guest job boots its own guest anyway: another worker on its machine changes nothing.
  t.is(pickNext(picture(jobs('default!'), { held: new Set(['default']) })), 0);
});

test('a machine another worker is on gets a second guest only while enough of its jobs remain to pay the boot back', (t) => {
  const held = new Set(['default']);
  // boot 3 s, job 1.2 s: worth it from 2 + 2.5 = 4.5 jobs, i.e. 5.
  t.is(pickNext(picture(jobs('default', 'default', 'default', 'default'), { held })), undefined);
  t.is(pickNext(picture(jobs('default', 'default', 'default', 'default', 'default'), { held })), 0);
  // Faster boots (KVM) make it worth it sooner.
  t.is(pickNext(picture(jobs('default', 'default', 'default'), { held, bootMs: 800, jobMs: 800 })), 0);
  // Another held machine with more left is taken over one not worth it.
  t.is(pickNext(picture(jobs('pt', 'default', 'default', 'default', 'default', 'default'), { held: new Set(['pt', 'default']) })), 1);
});

test('nothing left is nothing to do', (t) => {
  t.is(pickNext(picture([])), undefined);
});

test('the estimates are the run’s means once it has any, the measured defaults before', (t) => {
  const e = new Estimates();
  t.deepEqual([e.bootMs, e.jobMs], [defaultEstimates.bootMs, defaultEstimates.jobMs]);
  e.boot(2000);
  e.boot(4000);
  e.job(1000);
  t.deepEqual([e.bootMs, e.jobMs], [3000, 1000]);
});

test('while a DMA job would wait for room in the rate limit, one that does no DMA goes first in the worker’s own guest', (t) => {
  const remaining: Candidate[] = [
    { key: 'default', reusable: true, mayFault: true },
    { key: 'default', reusable: true, mayFault: false },
  ];
  t.is(pickNext(picture(remaining, { warm: 'default', warmPaces: true })), 1);
  t.is(pickNext(picture(remaining, { warm: 'default', warmPaces: false })), 0);
  // Only DMA jobs left: the first, which waits.
  t.is(pickNext(picture([remaining[0]!], { warm: 'default', warmPaces: true })), 0);
});
