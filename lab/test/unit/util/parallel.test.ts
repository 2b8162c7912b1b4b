import test from 'ava';
import { defaultJobs, jobsFor } from '../../../src/util/parallel.ts';

test('default --jobs: one guest per core, fewer when memory is short beside the two booted ahead, never zero', (t) => {
  t.is(defaultJobs(2, 24_000), 2);
  t.is(defaultJobs(16, 24_000), 16);
  // 4 GB free: 4 guests of 704 MiB beside the reserve, 2 of them booted ahead.
  t.is(defaultJobs(16, 4_000), 2);
  t.is(defaultJobs(2, 500), 1);
});

test('--jobs auto sizes for the largest guest the run boots; a number is taken as given; anything else is refused', (t) => {
  // 16 cores, 4 GB free: 4 default guests (704 MiB each) fit beside the reserve, 3 vmm guests (960 MiB); 2 are booted ahead.
  t.is(jobsFor('auto', [512, 512], 16, 4_000), 2);
  t.is(jobsFor(undefined, [512, 768], 16, 4_000), 1);
  t.is(jobsFor('auto', [], 16, 4_000), 2);
  t.is(jobsFor('3', [768], 16, 4_000), 3);
  t.throws(() => jobsFor('abc', [], 16, 4_000), { message: '--jobs abc: give a whole number ≥ 1, or auto' });
  t.throws(() => jobsFor('0', [], 16, 4_000), { message: /--jobs 0/ });
  t.throws(() => jobsFor('1.5', [], 16, 4_000), { message: /--jobs 1\.5/ });
});
