// S2: access is granted per open file, and a device binds to one iommufd FD at a time.
import { scenario } from '../../lab/src/api.ts';

export default scenario(
  'grant-is-per-fd-and-bind-is-single',
  {
    devices: ['nvme'],
    tags: ['cdev', 'bind', 'S2'],
    concern: {
      text: 'BIND on one FD must not unlock a second FD of the same device; the second opener stays parked and cannot bind, and a device is bound once.',
      ref: 'vfio: "Block device access via device fd until device is opened" (Linux 6.6): access_granted is per vfio_device_file',
    },
  },
  async ({ probe, device, expect, step }) => {
    const [open1, open2, iommufd, bind1, info2, bind2, rebind1, parked2, close2, info1] = await step('two opens, BIND on the first, then poke the second', () =>
      probe.run(`open d1 ${device.cdev}`, `open d2 ${device.cdev}`, 'iommufd i', 'bind d1 i', 'get-info d2', 'bind d2 i', 'bind d1 i', 'parked d2', 'close d2', 'get-info d1'),
    );
    expect.errno(open1, 'ok', 'first open');
    expect.errno(open2, 'ok', 'second open of the same device');
    expect.errno(iommufd, 'ok', 'open /dev/iommu');
    expect.errno(bind1, 'ok', 'BIND on fd1');
    expect(bind1?.out_devid, 'out_devid of BIND').toBeTruthy();
    expect.errno(info2, 'EINVAL', 'GET_INFO on fd2 after fd1 was bound');
    expect.errno(bind2, 'EINVAL', 'BIND on fd2 while fd1 holds the device');
    expect.errno(rebind1, 'EINVAL', 'a second BIND on fd1');
    const ops = (parked2?.ops ?? []) as { name: string; ret: number; errno: number; errname: string | null }[];
    expect(ops.length, 'operations tried on fd2').toBe(260);
    for (const op of ops) expect.errno(op, 'EINVAL', `fd2 ${op.name}`);
    expect.errno(close2, 'ok', 'close fd2');
    expect.errno(info1, 'ok', 'GET_INFO on fd1 after fd2 was closed');
  },
);
