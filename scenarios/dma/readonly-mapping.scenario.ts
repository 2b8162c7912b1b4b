// S6c: a mapping without WRITEABLE must not be written by the device.
import { attached, iova, mappedBuffer, nvmeEnabled, parseDmarFaults, scenario } from '../../lab/src/api.ts';

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
    const r = await step('Identify into a read-only mapped buffer', () =>
      probe.run(...attached(device.cdev), ...mappedBuffer('r', iova.target, { fill: 0x33, ro: true }), nvmeEnabled(), `nvme-identify d ${iova.target}`, { check: 'buf-check r' }),
    );
    expect.errno(r.attach, 'ok', 'ATTACH');
    expect.errno(r.map, 'ok', 'read-only IOAS_MAP');
    expect(r.enable.rdy, 'controller ready').toBe(true);
    expect(r.check.changed, 'read-only buffer changed').toBe(false);
    const faults = parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && BigInt(f.address) === BigInt(iova.target));
    expect(faults.length > 0, `a DMAR write fault at ${iova.target}`).toBe(true);
  },
);
