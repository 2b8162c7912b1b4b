import test from 'ava';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beginMarker, driversScript, leftoversScript, parseDrivers, resetScript, sinceMarker } from '../../../src/scenario/reset.ts';

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

test('the one-exec reset script parses in sh and busybox sh, each part tagged, BDFs quoted', async (t) => {
  const script = resetScript(['0000:00:03.0', '0000:00:04.0'], ['0000:00:05.0']);
  for (const shell of [['sh', '-n'], ['busybox', 'sh', '-n']]) {
    const r = await execa(shell[0]!, [...shell.slice(1), '-c', script], { reject: false });
    t.is(r.exitCode, 0, `${shell.join(' ')}: ${r.stderr}`);
  }
  t.regex(script, /^\) 2>&1 \| sed 's\|\^\|bind 0000:00:03\.0 \|'$/m);
  t.regex(script, /\| sed 's\/\^\/driver \/'$/m);
  // A device the scenario did not use is only read, never rebound.
  t.notRegex(script, /0000:00:05\.0[^\n]*driver_override|devices\/0000:00:05\.0\necho vfio-pci/);
  t.false(resetScript([], []).includes('driver /'));
});

test('the leftovers script names each process holding a VFIO or iommufd file, and nothing else', async (t) => {
  const proc = mkdtempSync(join(tmpdir(), 'lab-fakeproc-'));
  const links: [string, string, string][] = [
    ['123', '3', '/dev/vfio/devices/vfio0'],
    ['123', '4', '/dev/iommu'],
    ['123', '5', '/dev/null'],
    ['45', '0', '/dev/vfio/7'],
    ['45', '1', '/dev/iommufoo'],
    ['678', '2', 'anon_inode:[vfio-device]'],
  ];
  for (const [pid, fd, target] of links) {
    mkdirSync(join(proc, pid, 'fd'), { recursive: true });
    symlinkSync(target, join(proc, pid, 'fd', fd));
  }
  for (const shell of [['sh'], ['busybox', 'sh']]) {
    const r = await execa(shell[0]!, [...shell.slice(1), '-c', leftoversScript(proc)]);
    t.deepEqual(r.stdout.split('\n').sort(), [`${proc}/123 still holds /dev/iommu`, `${proc}/123 still holds /dev/vfio/devices/vfio0`, `${proc}/45 still holds /dev/vfio/7`], shell.join(' '));
  }
});
