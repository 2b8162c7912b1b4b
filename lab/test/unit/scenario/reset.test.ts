import test from 'ava';
import { beginMarker, driversScript, parseDrivers, sinceMarker } from '../../../src/scenario/reset.ts';

test('a reused guest’s kernel log is judged from the scenario’s own marker on', (t) => {
  const m = beginMarker('cdev/b#2');
  const log = ['[ 1.0] boot', `[ 2.0] ${beginMarker('cdev/a#1')}`, '[ 2.5] WARNING: CPU: 0 PID: 9 at x.c:1 f+0x1/0x2', `[ 3.0] ${m}`, '[ 3.1] vfio: ok', ''].join('\n');
  t.is(sinceMarker(log, m), '[ 3.1] vfio: ok\n');
  // Without its marker (a fresh guest, or a marker lost) the whole log is judged: nothing hidden.
  t.is(sinceMarker(log, beginMarker('other')), log);
});

test('the drivers each device is on are read back per BDF, "-" for none', (t) => {
  t.regex(driversScript(['0000:00:03.0']), /devices\/0000:00:03\.0;/);
  t.deepEqual([...parseDrivers('0000:00:03.0 nvme\n0000:00:04.0 -\n')], [['0000:00:03.0', 'nvme'], ['0000:00:04.0', '-']]);
});
