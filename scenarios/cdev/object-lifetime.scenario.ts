// S7 (without DMA): objects in use cannot be destroyed; the bound device keeps the iommufd context.
import { attached, openBound, scenario } from '../../lab/src/api.ts';

export default scenario(
  'objects-in-use-outlive-their-handles',
  {
    devices: ['nvme'],
    tags: ['iommufd', 'lifetime', 'S7'],
    concern: {
      text: 'While a device is attached, its IOAS and its device object must not be destroyable; closing the iommufd FD must not free what a bound device still uses; closing the cdev frees everything.',
      ref: 'iommufd object refcounting (drivers/iommu/iommufd/main.c, iommufd_object_remove); vfio_df_unbind_iommufd()',
    },
  },
  async ({ probe, device, expect, step }) => {
    await step('DESTROY of objects in use is refused', async () => {
      const r = await probe.run(...attached(device.cdev), { destroyIoas: 'destroy i a', destroyDev: 'destroy i d.devid', detach: 'detach d', destroyIoasAfter: 'destroy i a' });
      expect.errno(r.bind, 'ok', 'BIND');
      expect.errno(r.ioas, 'ok', 'IOAS_ALLOC');
      expect.errno(r.attach, 'ok', 'ATTACH');
      expect.errno(r.destroyIoas, 'EBUSY', 'DESTROY of the attached IOAS');
      expect.errno(r.destroyDev, 'EBUSY', 'DESTROY of the bound device object');
      expect.errno(r.detach, 'ok', 'DETACH');
      expect.errno(r.destroyIoasAfter, 'ok', 'DESTROY of the IOAS once nothing uses it');
    });
    await step('closing the only iommufd FD while bound leaves the device working', async () => {
      const r = await probe.run(...attached(device.cdev), { closeI: 'close i', info: 'get-info d', detach: 'detach d', reattach: 'attach d a' });
      expect.errno(r.bind, 'ok', 'BIND');
      expect.errno(r.attach, 'ok', 'ATTACH');
      expect.errno(r.closeI, 'ok', 'close the iommufd FD');
      expect.errno(r.info, 'ok', 'GET_INFO after the iommufd FD was closed');
      expect.errno(r.detach, 'ok', 'DETACH after the iommufd FD was closed');
      expect.errno(r.reattach, 'ok', 'ATTACH again to the IOAS the device context still holds');
    });
    await step('closing the cdev frees everything: a fresh open and BIND work', async () => {
      const r = await probe.run(...openBound(device.cdev), { close: 'close d', open2: `open d2 ${device.cdev}` }, 'iommufd i2', { bind2: 'bind d2 i2' });
      expect.errno(r.bind, 'ok', 'BIND');
      expect.errno(r.close, 'ok', 'close the bound cdev');
      expect.errno(r.open2, 'ok', 'open again');
      expect.errno(r.bind2, 'ok', 'BIND to a new iommufd');
    });
  },
);
