// S6b: DMA to an IOVA user space never mapped faults, and the memory behind it stays untouched.
import { attached, canary, identifyLanded, iova, nvmeEnabled, parseDmarFaults, readyForIdentify, scenario } from '../../lab/src/api.ts';

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
    const r = await step('Identify aimed at the GPA of an unmapped canary page', () =>
      probe.run(...attached(device.cdev), { canary: canary('c') }, nvmeEnabled(), 'nvme-identify d c.gpa', { check: 'buf-check c' }),
    );
    expect.errno(r.bind, 'ok', 'BIND');
    expect.errno(r.attach, 'ok', 'ATTACH');
    expect(r.enable.rdy, 'controller ready').toBe(true);
    const gpa = String(r.canary.gpa);
    expect(r.check.changed, `canary at GPA ${gpa} changed`).toBe(false);
    expectFault({ device: 'nvme', access: 'write', address: gpa });
    const faults = parseDmarFaults(await vm.dmesg()).filter((f) => f.access === 'write' && BigInt(f.address) === BigInt(gpa));
    expect(faults.length > 0, `a DMAR write fault at the canary's address ${gpa}`).toBe(true);
    // Positive control: in the same guest, the same device's Identify lands once attached and
    // mapped. A device that cannot DMA at all would pass every "blocked" check above.
    await step('positive control: the same Identify lands once attached, into a mapped buffer', async () => {
      const c = await probe.run(...readyForIdentify(device.cdev), { identify: `nvme-identify d ${iova.target}`, check: 'buf-check t' });
      expect.errno(c.attach, 'ok', 'ATTACH');
      expect(c.identify.completed, 'Identify completed once attached').toBe(true);
      expect(identifyLanded(c.check), 'Identify data (VID 0x1b36, "QEMU NVMe Ctrl") in the mapped buffer').toBe(true);
    });
  },
);
