// S2: access is granted per open file, and a device binds to one iommufd FD at a time.
import { scenario, sweepGaps } from '../../lab/src/api.ts';

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
    const r = await step('two opens, BIND on the first, then poke the second', () =>
      probe.run(
        { open1: `open d1 ${device.cdev}`, open2: `open d2 ${device.cdev}`, iommufd: 'iommufd i', bind1: 'bind d1 i' },
        { info2: 'get-info d2', bind2: 'bind d2 i', rebind1: 'bind d1 i', parked2: 'parked d2', close2: 'close d2', info1: 'get-info d1' },
      ),
    );
    expect.errno(r.open1, 'ok', 'first open');
    expect.errno(r.open2, 'ok', 'second open of the same device');
    expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
    expect.errno(r.bind1, 'ok', 'BIND on fd1');
    expect(r.bind1.out_devid, 'out_devid of BIND').toBeTruthy();
    expect.errno(r.info2, 'EINVAL', 'GET_INFO on fd2 after fd1 was bound');
    expect.errno(r.bind2, 'EINVAL', 'BIND on fd2 while fd1 holds the device');
    expect.errno(r.rebind1, 'EINVAL', 'a second BIND on fd1');
    // The probe's own account of the sweep says how many operations it tried.
    expect(sweepGaps(r.parked2.ops, r.parked2.swept), 'operations tried on fd2 against the sweep the probe reports').toEqual([]);
    for (const op of r.parked2.ops) expect.errno(op, 'EINVAL', `fd2 ${op.name}`);
    expect.errno(r.close2, 'ok', 'close fd2');
    expect.errno(r.info1, 'ok', 'GET_INFO on fd1 after fd2 was closed');
  },
);
