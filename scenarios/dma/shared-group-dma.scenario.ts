// S5e: in a shared IOMMU group there is one address space: the attached IOAS.
import { scenario } from '../../lab/src/api.ts';
import { identifyLanded, iova } from './steps.ts';

export default scenario(
  'shared-group-dma-uses-the-attached-ioas',
  {
    devices: ['nvme', 'e1000'],
    machine: 'shared-slot',
    tags: ['dma', 'ownership', 'S5'],
    // The e1000's frame aimed at an unmapped canary faults on the write.
    expectedFaults: [{ device: 'e1000', access: 'write' }],
    concern: {
      text: 'Functions of one IOMMU group share one domain: with the nvme attached and the e1000 only bound, the DMA of either reaches the attached IOAS’s buffers and nothing else.',
      ref: 'iommufd_device_attach() attaches the whole group (drivers/iommu/iommufd/device.c)',
    },
  },
  async ({ probe, devices, expect, step, skip }) => {
    const { nvme, e1000 } = devices;
    if (nvme!.group !== e1000!.group) skip(`the functions do not share an IOMMU group here (nvme in ${nvme!.group}, e1000 in ${e1000!.group})`);
    const setup = [`open n ${nvme!.cdev}`, `open e ${e1000!.cdev}`, 'iommufd i', 'bind n i', 'bind e i', 'ioas-alloc i a', 'attach n a'];
    await step('nvme (attached) and e1000 (bound only) both DMA into the attached IOAS', async () => {
      const out = await probe.run(
        ...setup,
        'buf t 4096 fill=0xaa',
        `map-buf i a t ${iova.target}`,
        `nvme-enable n i a ${iova.sq} ${iova.cq}`,
        `nvme-identify n ${iova.target}`,
        'buf-check t',
        'buf r 4096',
        `e1000-loopback e i a ${iova.txRing} ${iova.rxRing} ${iova.txBuf} r ${iova.rxBuf}`,
        'buf-check r',
      );
      expect.errno(out[3], 'ok', 'BIND nvme');
      expect.errno(out[4], 'ok', 'BIND e1000 to the same iommufd');
      expect.errno(out[6], 'ok', 'ATTACH nvme only');
      expect(identifyLanded(out[11]), 'nvme Identify landed in the IOAS buffer').toBe(true);
      expect(out[13]?.payload_match, 'e1000 frame landed in the IOAS buffer although the e1000 was never attached').toBe(true);
      expect(out[14]?.changed, 'e1000 RX buffer written').toBe(true);
    });
    await step('the e1000 aimed at an unmapped canary reaches nothing', async () => {
      const out = await probe.run(...setup, 'buf c 4096 fill=0x5a', `e1000-loopback e i a ${iova.txRing} ${iova.rxRing} ${iova.txBuf} c c.gpa nomap-rx`, 'buf-check c');
      expect(out[8]?.tx_done, 'frame transmitted').toBe(true);
      expect(out[9]?.changed, 'canary written by the e1000').toBe(false);
    });
  },
);
