// The legacy nested path: the vmm-legacy image's file list and the helpers that read QEMU 7.2's log.
import test from 'ava';
import { legacyMaps } from '../../../../scenarios/nested/vmm.ts';
import { vmmFiles } from '../../../src/image/vmm.ts';
import { systemQemuTree } from '../../../src/image/system-qemu.ts';
import { existsSync } from 'node:fs';

// As QEMU 7.2 printed it in L1 (nested/legacy-vmm-dma-lands-in-l2-ram, lab kernel 6.12.117).
const log = `vfio_listener_region_add_ram region_add [ram] 0x0 - 0x3ffffff [0x7f2882200000]
vfio_listener_region_add_skip SKIPPING region_add 0xfee00000 - 0xfeefffff
vfio_listener_region_add_ram region_add [ram] 0xffff0000 - 0xffffffff [0x7f2892800000]
vfio_get_device Device 0000:00:03.0 flags: 3, regions: 9, irqs: 5
vfio_listener_region_add_ram region_add [ram] 0x100000 - 0x3ffffff [0x7f2882300000]
vfio_listener_region_add_ram region_add [ram] 0xc0000000 - 0xc0001fff [0x7f2892811000]
qemu-system-x86_64: VFIO_MAP_DMA failed: Bad address
qemu-system-x86_64: vfio_dma_map(0x55cebb6e79c0, 0xc0000000, 0x2000, 0x7f2892811000) = -14 (Bad address)
1234@1700000000.000001:vfio_listener_region_add_ram region_add [ram] 0xc0003000 - 0xc0003fff [0x7f2892814000]
qemu-system-x86_64: vfio_dma_map(0x55cebb6e79c0, 0xc0003000, 0x1000, 0x7f2892814000) = -14 (Bad address)
`;

test('legacy maps: each region_add [ram] is one MAP_DMA (END inclusive); those QEMU reports failed are apart, with their errno', (t) => {
  const { mapped, failed } = legacyMaps(log);
  t.deepEqual(mapped, [
    { iova: 0x0n, size: 0x4000000n },
    { iova: 0xffff0000n, size: 0x10000n },
    { iova: 0x100000n, size: 0x3f00000n },
  ]);
  t.deepEqual(failed, [
    { iova: 0xc0000000n, size: 0x2000n, errno: 14 },
    { iova: 0xc0003000n, size: 0x1000n, errno: 14 },
  ]);
  t.deepEqual(legacyMaps('qemu-system-x86_64: something else\n'), { mapped: [], failed: [] });
});

const system = existsSync('/usr/bin/qemu-system-x86_64') ? test : test.skip;
system('the vmm-legacy tree goes under its own root, with its TCG module and the libraries of both', async (t) => {
  const q = await systemQemuTree();
  const files = await vmmFiles(q, '/opt/qemu72', ['accel-tcg-x86_64.so']);
  const to = files.map(([, guest]) => guest);
  t.true(to.includes('/opt/qemu72/bin/qemu-system-x86_64'));
  t.true(to.includes('/opt/qemu72/lib/accel-tcg-x86_64.so'));
  t.true(to.includes('/opt/qemu72/share/qboot.rom'));
  t.true(to.includes('/usr/bin/vmm'));
  t.is(new Set(to).size, to.length, 'no guest path twice');
  t.true(files.every(([from]) => existsSync(from)), 'every host file exists');
});
