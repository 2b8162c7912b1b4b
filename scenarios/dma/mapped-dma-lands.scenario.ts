// S6a: once attached, DMA reaches exactly the IOVAs user space mapped.
import { scenario } from '../../lab/src/api.ts';
import { bound, identifyLanded, iova, readyForIdentify } from './steps.ts';

export default scenario(
  'mapped-dma-lands',
  {
    devices: ['nvme', 'e1000'],
    tags: ['dma', 'S6'],
    concern: {
      text: 'After BIND and ATTACH, a device’s DMA must reach the buffers user space mapped into the IOAS, at the IOVAs it chose.',
      ref: 'iommufd: IOMMU_IOAS_MAP / VFIO_DEVICE_ATTACH_IOMMUFD_PT (Documentation/userspace-api/iommufd.rst)',
    },
  },
  async ({ probe, devices, expect, step }) => {
    await step('NVMe Identify into a mapped buffer', async () => {
      const out = await probe.run(...readyForIdentify(devices.nvme!.cdev), `nvme-identify d ${iova.target}`, 'buf-check t');
      const [, , bind, , attach, , map, enable, identify, check] = out;
      expect.errno(bind, 'ok', 'BIND');
      expect.errno(attach, 'ok', 'ATTACH');
      expect.errno(map, 'ok', 'IOAS_MAP of the target buffer');
      expect(enable?.rdy, 'controller ready').toBe(true);
      expect(identify?.completed, 'Identify completed').toBe(true);
      expect(identifyLanded(check), `Identify data (VID 0x1b36, "QEMU NVMe Ctrl") in the mapped buffer; got ${String(check?.hex).slice(0, 16)}… "${String(check?.ascii).trim()}"`).toBe(true);
    });
    await step('e1000 loopback frame into a mapped RX buffer', async () => {
      const out = await probe.run(...bound(devices.e1000!.cdev), 'attach d a', 'buf r 4096', `e1000-loopback d i a ${iova.txRing} ${iova.rxRing} ${iova.txBuf} r ${iova.rxBuf}`, 'buf-check r');
      const [, , bind, , attach, , loop, check] = out;
      expect.errno(bind, 'ok', 'BIND');
      expect.errno(attach, 'ok', 'ATTACH');
      expect(loop?.tx_done, 'frame transmitted').toBe(true);
      expect(loop?.payload_match, 'the received frame carries the payload sent').toBe(true);
      expect(check?.changed, 'RX buffer written by the device').toBe(true);
    });
  },
);
