// S6a: once attached, DMA reaches exactly the IOVAs user space mapped.
import { attached, identifyLanded, iova, readyForIdentify, scenario } from '../../lab/src/api.ts';

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
      const r = await probe.run(...readyForIdentify(devices.nvme!.cdev), { identify: `nvme-identify d ${iova.target}`, check: 'buf-check t' });
      expect.errno(r.bind, 'ok', 'BIND');
      expect.errno(r.attach, 'ok', 'ATTACH');
      expect.errno(r.map, 'ok', 'IOAS_MAP of the target buffer');
      expect(r.enable.rdy, 'controller ready').toBe(true);
      expect(r.identify.completed, 'Identify completed').toBe(true);
      expect(identifyLanded(r.check), `Identify data (VID 0x1b36, "QEMU NVMe Ctrl") in the mapped buffer; got ${String(r.check.hex).slice(0, 16)}… "${String(r.check.ascii).trim()}"`).toBe(true);
    });
    await step('e1000 loopback frame into a mapped RX buffer', async () => {
      const r = await probe.run(...attached(devices.e1000!.cdev), 'buf r 4096', { loop: `e1000-loopback d i a ${iova.txRing} ${iova.rxRing} ${iova.txBuf} r ${iova.rxBuf}`, check: 'buf-check r' });
      expect.errno(r.bind, 'ok', 'BIND');
      expect.errno(r.attach, 'ok', 'ATTACH');
      expect(r.loop.tx_done, 'frame transmitted').toBe(true);
      expect(r.loop.payload_match, 'the received frame carries the payload sent').toBe(true);
      expect(r.check.changed, 'RX buffer written by the device').toBe(true);
    });
  },
);
