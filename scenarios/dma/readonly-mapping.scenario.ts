// S6c: a mapping without WRITEABLE must not be written by the device.
import { parseDmarFaults, scenario } from '../../lab/src/api.ts';
import { bound, iova } from './steps.ts';

export default scenario(
  'readonly-mapping-blocks-device-writes',
  {
    devices: ['nvme'],
    tags: ['dma', 'S6'],
    expectedFaults: [{ device: 'nvme', access: 'write', address: iova.target, reason: 'PTE Write access is not set' }],
    concern: {
      text: 'IOAS_MAP without IOMMU_IOAS_MAP_WRITEABLE must give the device read-only access: its writes fault and the page keeps its contents.',
      ref: 'IOMMU_IOAS_MAP flags (include/uapi/linux/iommufd.h)',
    },
  },
  async ({ probe, vm, device, expect, step }) => {
    const out = await step('Identify into a read-only mapped buffer', () =>
      probe.run(...bound(device.cdev), 'attach d a', 'buf r 4096 fill=0x33', `map-buf i a r ${iova.target} ro`, `nvme-enable d i a ${iova.sq} ${iova.cq}`, `nvme-identify d ${iova.target}`, 'buf-check r'),
    );
    const [, , , , attach, , map, enable, , check] = out;
    expect.errno(attach, 'ok', 'ATTACH');
    expect.errno(map, 'ok', 'read-only IOAS_MAP');
    expect(enable?.rdy, 'controller ready').toBe(true);
    expect(check?.changed, 'read-only buffer changed').toBe(false);
    const faults = parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && BigInt(f.address) === BigInt(iova.target));
    expect(faults.length > 0, `a DMAR write fault at ${iova.target}`).toBe(true);
  },
);
