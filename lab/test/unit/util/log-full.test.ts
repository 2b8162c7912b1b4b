// A real full disk: the log opened on /dev/full, whose every write fails with ENOSPC.
import test from 'ava';
import { log, logFailure, onLogFailure, openLog } from '../../../src/util/log.ts';

test('a log on a full disk never throws from the code that logs; the command is told once, naming the directory', (t) => {
  const told: string[] = [];
  onLogFailure((e) => told.push(e.message));
  openLog('/dev/full');
  t.notThrows(() => log().info({ scenario: 'cdev/parked-fd' }, 'scenario start'));
  t.notThrows(() => log().error('and again'));
  t.deepEqual(told, ['no space left in /dev']);
  t.is((logFailure()?.cause as NodeJS.ErrnoException).code, 'ENOSPC');
  t.regex(logFailure()!.hint!, /free space there/);
});
