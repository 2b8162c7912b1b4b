// S1: a device FD opened through /dev/vfio/devices/vfioN is parked until BIND_IOMMUFD.
import { openBound, scenario, sweepGaps } from '../../lab/src/api.ts';

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
        // One headline for the reviewer before the per-operation list.
        const through = r.ops.filter((op) => op.errname !== 'EINVAL');
        if (through.length > 0) {
          const by = (pred: (op: (typeof through)[number]) => boolean) => through.filter(pred).map((op) => op.name);
          const ok = by((op) => op.errno === 0);
          const killed = by((op) => op.errname === 'KILLED' || op.errname === 'HUNG');
          const other = through.length - ok.length - killed.length;
          expect.fail(
            `${device.name}: ${through.length} of ${r.ops.length} operations got past the parked FD` +
              (ok.length ? `; succeeded: ${ok.join(', ')}` : '') +
              (killed.length ? `; crashed or hung the kernel: ${killed.join(', ')}` : '') +
              (other ? `; ${other} more reached a handler and answered with another errno` : ''),
          );
        }
        // The sweep covers every _IO(';', nr) but BIND: ioctls added in the future are covered too.
        for (const op of r.ops) expect.errno(op, 'EINVAL', `${device.name} ${op.name}`);
        expect.errno(r.close ?? undefined, 'ok', `${device.name} close`);
        return r;
      });
      // Held to the probe's own account of what it swept, not to a count kept here.
      expect(report.swept && sweepGaps(report.ops, report.swept), `${device.name} operations tried against the sweep the probe reports`).toEqual([]);

      await step(`${device.name}: closing the parked FD changed nothing — a new FD binds and works`, async () => {
        const r = await probe.run(...openBound(device.cdev), { info: 'get-info d' });
        expect.errno(r.open, 'ok', `${device.name} reopen`);
        expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
        expect.errno(r.bind, 'ok', `${device.name} BIND after the parked FD was closed`);
        expect.errno(r.info, 'ok', `${device.name} GET_INFO once bound`);
      });
    }
  },
);
