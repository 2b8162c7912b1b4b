// QEMU 10 beside 7.2 (qemu10.ts) and the nested scenarios' pure helpers (scenarios/nested/vmm.ts).
import test from 'ava';
import { backportsSources, parseMirror, privateAptOptions, qemu10Command, qemu10Layout } from '../../../src/image/qemu10.ts';
import { eventOrder, l2Identify, l2PciSetup, num, parseTrace, qtestBytes, qtestValue } from '../../../../scenarios/nested/vmm.ts';

test('the mirror comes from apt indextargets output: the first http(s) URI, with one trailing slash', (t) => {
  t.is(parseMirror('http://mirror.example/debian/\nhttp://mirror.example/debian/\n'), 'http://mirror.example/debian/');
  t.is(parseMirror('https://m.example/debian'), 'https://m.example/debian/');
  t.is(parseMirror('cdrom:[Debian]/\nfile:/srv/debian/\n'), null);
  t.is(parseMirror(''), null);
});

test('the private sources list names backports of this release only, signed by the archive key', (t) => {
  const list = backportsSources('http://m.example/debian/', 'bookworm');
  t.is(list, 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://m.example/debian/ bookworm-backports main\n');
});

test('every piece of apt state goes into the private directory, nothing into /etc/apt or /var/lib', (t) => {
  const opts = privateAptOptions('/c/qemu10/apt');
  const values = opts.filter((o) => o.includes('=')).map((o) => o.split('=')[1]!);
  for (const key of ['Dir::Etc::sourcelist', 'Dir::Etc::sourceparts', 'Dir::Etc::preferencesparts', 'Dir::State::lists', 'Dir::State::status', 'Dir::Cache']) {
    t.true(opts.some((o) => o.startsWith(`${key}=/c/qemu10/apt/`)), key);
  }
  t.true(values.filter((v) => v.startsWith('/')).every((v) => v.startsWith('/c/qemu10/apt/')));
});

test('the unpacked QEMU always runs with its own modules and firmware', (t) => {
  const c = qemu10Command(qemu10Layout('/c/q/root'), ['-M', 'q35']);
  t.is(c.file, '/c/q/root/usr/bin/qemu-system-x86_64');
  t.deepEqual(c.args, ['-L', '/c/q/root/usr/share/qemu', '-M', 'q35']);
  t.deepEqual(c.env, { QEMU_MODULE_DIR: '/c/q/root/usr/lib/x86_64-linux-gnu/qemu' });
});

// As QEMU 10.0's log backend prints them (with and without the pid@time prefix).
const trace = [
  'iommufd_backend_connect fd=4 owned=1 users=1',
  '1234@1700000000.000001:iommufd_cdev_connect_and_bind  [iommufd=4] Successfully bound device 0000:00:03.0 (fd=5): output devid=1',
  'iommufd_backend_alloc_ioas  iommufd=4 ioas=2',
  'iommufd_backend_alloc_hwpt  iommufd=4 dev_id=1 pt_id=2 flags=0x0 hwpt_type=0 len=0 data_ptr=(nil) out_hwpt=3 (0)',
  'iommufd_cdev_attach_ioas_hwpt  [iommufd=4] Successfully attached device 0000:00:03.0 (5) to id=3',
  'iommufd_backend_map_dma  iommufd=4 ioas=2 iova=0x0 size=0xa0000 addr=0x7f00 readonly=0 (0)',
  'qemu-system-x86_64: warning: not a trace line',
  'iommufd_backend_map_dma  iommufd=4 ioas=2 iova=0x100000 size=0x3f00000 addr=0x7f10 readonly=0 (0)',
].join('\n');

test('the trace parser reads event names and key=value fields, skipping other lines', (t) => {
  const events = parseTrace(trace);
  t.is(events.length, 7);
  t.deepEqual(eventOrder(events), ['iommufd_backend_connect', 'iommufd_cdev_connect_and_bind', 'iommufd_backend_alloc_ioas', 'iommufd_backend_alloc_hwpt', 'iommufd_cdev_attach_ioas_hwpt', 'iommufd_backend_map_dma']);
  const maps = events.filter((e) => e.name === 'iommufd_backend_map_dma');
  t.is(maps.reduce((s, e) => s + num(e, 'size'), 0), 0xa0000 + 0x3f00000);
  t.is(num(events[3]!, 'pt_id'), 2);
  t.true(Number.isNaN(num(events[0]!, 'missing')));
});

test('qtest answers decode as values and bytes', (t) => {
  t.is(qtestValue('OK 0x0000000000010001'), 0x10001n);
  t.deepEqual([...qtestBytes('OK 0x361bf41a')], [0x36, 0x1b, 0xf4, 0x1a]);
});

test('L2 config cycles address 00:04.0 and the Identify is an admin command 0x06 with CNS=1', (t) => {
  const pci = l2PciSetup();
  t.is(pci[0], 'outl 0xcf8 0x80002010');
  t.is(pci.at(-1), 'outl 0xcfc 0x6');
  const id = l2Identify(0x200000);
  t.true(id.includes('writel 0x100000 0x10006'));
  t.true(id.includes('writeq 0x100018 0x200000'));
  t.true(id.includes('writel 0x100028 0x1'));
  t.is(id.at(-1), 'writel 0xc0001000 0x1');
});
