import test from 'ava';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRunDir, runDir } from '../../../src/cli/guest-commands.ts';
import { describeQemuExit } from '../../../src/qemu/machine.ts';

test('run directories are 0700 whatever the umask, new or given with --out', (t) => {
  const base = mkdtempSync(join(tmpdir(), 'run-dir-'));
  const old = process.umask(0o000);
  try {
    const fresh = runDir({ out: join(base, 'a', 'b') }, 'run');
    t.is(statSync(fresh).mode & 0o777, 0o700);
    process.umask(0o777);
    const given = ensureRunDir(base);
    t.is(statSync(given).mode & 0o777, 0o700);
  } finally {
    process.umask(old);
  }
});

test('how QEMU ended reads "QEMU exited (signal 9)" or "(status N)", never a bare exit code', (t) => {
  t.is(describeQemuExit({ signal: 'SIGKILL', exitCode: undefined }), 'QEMU exited (signal 9)');
  t.is(describeQemuExit({ signal: 'SIGTERM' }), 'QEMU exited (signal 15)');
  t.is(describeQemuExit({ exitCode: 1, signal: null }), 'QEMU exited (status 1)');
  t.is(describeQemuExit({ exitCode: 0 }), 'QEMU exited (status 0)');
});

test('default run directories started in the same millisecond are two directories, never one shared', (t) => {
  const cwd = process.cwd();
  const base = mkdtempSync(join(tmpdir(), 'run-dir-same-ms-'));
  process.chdir(base);
  // One instant for both, as two commands released by one lock saw.
  const at = new Date('2026-12-07T12:17:43.661Z');
  try {
    const a = runDir({}, 'exec', at);
    const b = runDir({}, 'exec', at);
    t.is(a, join(base, '.lab', 'runs', '2026-12-07T12-17-43-661Z-exec'));
    t.not(a, b);
    t.is(b, `${a}-2`);
    t.is(statSync(b).mode & 0o777, 0o700);
  } finally {
    process.chdir(cwd);
  }
});
