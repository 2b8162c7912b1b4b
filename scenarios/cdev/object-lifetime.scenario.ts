// S7 (without DMA): objects in use cannot be destroyed; the bound device keeps the iommufd context.
import { scenario } from '../../lab/src/api.ts';

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
      const [, , bind, ioas, attach, destroyIoas, destroyDev, detach, destroyIoasAfter] = await probe.run(
        `open d ${device.cdev}`, 'iommufd i', 'bind d i', 'ioas-alloc i a', 'attach d a', 'destroy i a', 'destroy i d.devid', 'detach d', 'destroy i a',
      );
      expect.errno(bind, 'ok', 'BIND');
      expect.errno(ioas, 'ok', 'IOAS_ALLOC');
      expect.errno(attach, 'ok', 'ATTACH');
      expect.errno(destroyIoas, 'EBUSY', 'DESTROY of the attached IOAS');
      expect.errno(destroyDev, 'EBUSY', 'DESTROY of the bound device object');
      expect.errno(detach, 'ok', 'DETACH');
      expect.errno(destroyIoasAfter, 'ok', 'DESTROY of the IOAS once nothing uses it');
    });
    await step('closing the only iommufd FD while bound leaves the device working', async () => {
      const [, , bind, , attach, closeI, info, detach, reattach] = await probe.run(
        `open d ${device.cdev}`, 'iommufd i', 'bind d i', 'ioas-alloc i a', 'attach d a', 'close i', 'get-info d', 'detach d', 'attach d a',
      );
      expect.errno(bind, 'ok', 'BIND');
      expect.errno(attach, 'ok', 'ATTACH');
      expect.errno(closeI, 'ok', 'close the iommufd FD');
      expect.errno(info, 'ok', 'GET_INFO after the iommufd FD was closed');
      expect.errno(detach, 'ok', 'DETACH after the iommufd FD was closed');
      expect.errno(reattach, 'ok', 'ATTACH again to the IOAS the device context still holds');
    });
    await step('closing the cdev frees everything: a fresh open and BIND work', async () => {
      const [, , bind1, close, open2, , bind2] = await probe.run(`open d ${device.cdev}`, 'iommufd i', 'bind d i', 'close d', `open d2 ${device.cdev}`, 'iommufd i2', 'bind d2 i2');
      expect.errno(bind1, 'ok', 'BIND');
      expect.errno(close, 'ok', 'close the bound cdev');
      expect.errno(open2, 'ok', 'open again');
      expect.errno(bind2, 'ok', 'BIND to a new iommufd');
    });
  },
);
