// S6b: DMA to an IOVA user space never mapped faults, and the memory behind it stays untouched.
import { parseDmarFaults, scenario } from '../../lab/src/api.ts';
import { bound, iova } from './steps.ts';

export default scenario(
  'unmapped-iova-faults',
  {
    devices: ['nvme'],
    machines: ['default', 'pt'],
    tags: ['dma', 'S6', 'escape'],
    concern: {
      text: 'DMA to anything not mapped in the IOAS must fault; aimed at the guest-physical address of a page it was never given, the device must not write it (with iommu=pt, a device left in the identity domain would).',
      ref: 'iommufd DMA isolation: a bound, attached device translates only through its IOAS',
    },
  },
  async ({ probe, vm, device, expect, expectFault, step }) => {
    const out = await step('Identify aimed at the GPA of an unmapped canary page', () =>
      probe.run(...bound(device.cdev), 'attach d a', 'buf c 4096 fill=0x5a', `nvme-enable d i a ${iova.sq} ${iova.cq}`, 'nvme-identify d c.gpa', 'buf-check c'),
    );
    const [, , bind, , attach, canary, enable, , check] = out;
    expect.errno(bind, 'ok', 'BIND');
    expect.errno(attach, 'ok', 'ATTACH');
    expect(enable?.rdy, 'controller ready').toBe(true);
    const gpa = String(canary?.gpa);
    expect(check?.changed, `canary at GPA ${gpa} changed`).toBe(false);
    expectFault({ device: 'nvme', access: 'write', address: gpa });
    const faults = parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && BigInt(f.address) === BigInt(gpa));
    expect(faults.length > 0, `a DMAR write fault at the canary's address ${gpa}`).toBe(true);
  },
);
