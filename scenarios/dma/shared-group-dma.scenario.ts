// S5e: in a shared IOMMU group there is one address space: the attached IOAS.
import { canary, identifyLanded, iova, mappedBuffer, nvmeEnabled, scenario } from '../../lab/src/api.ts';

export default scenario(
  'shared-group-dma-uses-the-attached-ioas',
  {
    devices: ['nvme', 'e1000'],
    machine: 'shared-slot',
    tags: ['dma', 'ownership', 'S5'],
    concern: {
      text: 'Functions of one IOMMU group share one domain: with the nvme attached and the e1000 only bound, the DMA of either reaches the attached IOAS’s buffers and nothing else.',
      ref: 'iommufd_device_attach() attaches the whole group (drivers/iommu/iommufd/device.c)',
    },
  },
  async ({ probe, devices, expect, expectFault, step, skip }) => {
    const { nvme, e1000 } = devices;
    if (nvme!.group !== e1000!.group) skip(`the functions do not share an IOMMU group here (nvme in ${nvme!.group}, e1000 in ${e1000!.group})`);
    // Both functions bound to one iommufd, only the nvme (handle n) attached; e is the e1000.
    const setup = [`open n ${nvme!.cdev}`, `open e ${e1000!.cdev}`, 'iommufd i', { bindNvme: 'bind n i', bindE1000: 'bind e i' }, 'ioas-alloc i a', { attach: 'attach n a' }] as const;
    const e1000Loopback = (rx: string, at: string) => `e1000-loopback e i a ${iova.txRing} ${iova.rxRing} ${iova.txBuf} ${rx} ${at}` as const;
    await step('nvme (attached) and e1000 (bound only) both DMA into the attached IOAS', async () => {
      const r = await probe.run(
        ...setup,
        ...mappedBuffer('t', iova.target, { fill: 0xaa }),
        nvmeEnabled({}, { dev: 'n', iommufd: 'i', ioas: 'a' }),
        `nvme-identify n ${iova.target}`,
        { identified: 'buf-check t' },
        'buf r 4096',
        { loop: e1000Loopback('r', iova.rxBuf), received: 'buf-check r' },
      );
      expect.errno(r.bindNvme, 'ok', 'BIND nvme');
      expect.errno(r.bindE1000, 'ok', 'BIND e1000 to the same iommufd');
      expect.errno(r.attach, 'ok', 'ATTACH nvme only');
      expect(identifyLanded(r.identified), 'nvme Identify landed in the IOAS buffer').toBe(true);
      expect(r.loop.payload_match, 'e1000 frame landed in the IOAS buffer although the e1000 was never attached').toBe(true);
      expect(r.received.changed, 'e1000 RX buffer written').toBe(true);
    });
    await step('the e1000 aimed at an unmapped canary reaches nothing', async () => {
      const r = await probe.run(...setup, canary('c'), { loop: `${e1000Loopback('c', 'c.gpa')} nomap-rx`, canary: 'buf-check c' });
      expect(r.loop.tx_done, 'frame transmitted').toBe(true);
      expect(r.canary.changed, 'canary written by the e1000').toBe(false);
      // The e1000's frame aimed at the unmapped canary faults on the write, at the canary's GPA.
      expectFault({ device: 'e1000', access: 'write', address: String(r.canary.gpa) });
    });
  },
);
