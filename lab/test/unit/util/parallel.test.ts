import test from 'ava';
import { defaultJobs } from '../../../src/util/parallel.ts';

test('default --jobs: one guest per core but one, fewer when memory is short, never zero', (t) => {
  t.is(defaultJobs(2, 24_000), 1);
  t.is(defaultJobs(16, 24_000), 15);
  t.is(defaultJobs(16, 4_000), 4);
  t.is(defaultJobs(2, 500), 1);
});
