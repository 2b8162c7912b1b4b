// S1: a device FD opened through /dev/vfio/devices/vfioN is parked until BIND_IOMMUFD.
import { scenario } from '../../lab/src/api.ts';

export default scenario(
  'parked-fd-blocks-every-op',
  {
    devices: ['nvme', 'e1000'],
    tags: ['cdev', 'parked', 'S1'],
    concern: {
      text: 'A parked FD is very similar to a closed FD: before BIND, read, write, mmap and every ioctl but BIND must fail — not only read/write/mmap.',
      ref: 'Review of RFC 05/20 "vfio/pci: Register device to /dev/vfio/devices" (Jason Gunthorpe, Alex Williamson, 2021-09-21)',
    },
  },
  async ({ probe, devices, expect, step }) => {
    for (const device of Object.values(devices)) {
      const report = await step(`${device.name}: open ${device.cdev} and try everything before BIND`, async () => {
        const r = await probe.parked(device.cdev);
        expect.errno(r.open, 'ok', `${device.name} open`);
        // The sweep covers every _IO(';', nr) but BIND: ioctls added in the future are covered too.
        for (const op of r.ops) expect.errno(op, 'EINVAL', `${device.name} ${op.name}`);
        expect.errno(r.close ?? undefined, 'ok', `${device.name} close`);
        return r;
      });
      expect(report.ops.length, `${device.name} operations tried`).toBe(260);

      await step(`${device.name}: closing the parked FD changed nothing — a new FD binds and works`, async () => {
        const [open, iommufd, bind, info] = await probe.run(`open d ${device.cdev}`, 'iommufd i', 'bind d i', 'get-info d');
        expect.errno(open, 'ok', `${device.name} reopen`);
        expect.errno(iommufd, 'ok', 'open /dev/iommu');
        expect.errno(bind, 'ok', `${device.name} BIND after the parked FD was closed`);
        expect.errno(info, 'ok', `${device.name} GET_INFO once bound`);
      });
    }
  },
);
