// S12: the iommufd ioctl conventions that keep the uAPI extensible.
import { bound, scenario } from '../../lab/src/api.ts';

const IOAS_ALLOC = 0x81;
const UNKNOWN = 0xff;

export default scenario(
  'iommufd-uapi-conventions',
  {
    devices: ['nvme'],
    tags: ['iommufd', 'uapi', 'S12'],
    concern: {
      text: 'iommufd ioctls must reject short structs, non-zero bytes past the known struct, unknown flags and unknown commands, so the uAPI can grow safely; IOVA ranges must exclude the MSI window once a device is attached, and end where the IOMMU address width ends.',
      ref: 'iommufd_fops_ioctl() / iommufd_ucmd (drivers/iommu/iommufd/main.c); Documentation/userspace-api/iommufd.rst',
    },
  },
  async ({ vm, probe, device, expect, step }) => {
    await step('size, trailing bytes, flags, unknown command', async () => {
      const r = await probe.run('iommufd i', {
        short: `raw-iommufd i ${IOAS_ALLOC} 4`,
        trailing: `raw-iommufd i ${IOAS_ALLOC} 64 trail=1`,
        flags: `raw-iommufd i ${IOAS_ALLOC} 12 flags=1`,
        unknown: `raw-iommufd i ${UNKNOWN} 16`,
        padded: `raw-iommufd i ${IOAS_ALLOC} 64`,
      });
      expect.errno(r.short, 'EINVAL', 'IOAS_ALLOC with size below the minimum');
      expect.errno(r.trailing, 'E2BIG', 'IOAS_ALLOC with a non-zero byte past the known struct');
      expect.errno(r.flags, 'EOPNOTSUPP', 'IOAS_ALLOC with an unknown flag');
      expect.errno(r.unknown, 'ENOTTY', 'an unknown iommufd command');
      expect.errno(r.padded, 'ok', 'IOAS_ALLOC with a larger, zero-padded struct');
    });
    await step('IOVA ranges: too small an array, then the ranges after ATTACH', async () => {
      const r = await probe.run(...bound(device.cdev), { small: 'iova-ranges i a 0' }, 'ioas-alloc i unused', { attach: 'attach d a', ranges: 'iova-ranges i a 16' });
      expect.errno(r.small, 'EMSGSIZE', 'IOVA_RANGES with no room');
      expect((r.small.num_iovas ?? 0) >= 1, 'IOVA_RANGES reports the count needed').toBe(true);
      expect.errno(r.attach, 'ok', 'ATTACH');
      expect.errno(r.ranges, 'ok', 'IOVA_RANGES after ATTACH');
      const list = r.ranges.ranges ?? [];
      const msiStart = 0xfee00000n;
      const msiLast = 0xfeefffffn;
      const overlapping = list.filter((range) => BigInt(range.start) <= msiLast && BigInt(range.last) >= msiStart);
      expect(overlapping, 'usable ranges overlapping the MSI window 0xfee00000-0xfeefffff').toEqual([]);
      expect(list.length >= 2, 'the MSI window splits the IOVA space').toBe(true);
      // The end of the IOVA space is the vIOMMU's address width (aw-bits), which QEMUs default
      // differently (7.2: 39 bits, 10.0: 48): the machine states it, the guest reports it in the
      // capability register (MGAW, bits 21:16, width - 1), and the last range must end there.
      const width = vm.machine.profile.iommu.awBits;
      const cap = BigInt(`0x${(await vm.sh`cat /sys/class/iommu/dmar0/intel-iommu/cap`).trim()}`);
      expect(Number((cap >> 16n) & 0x3fn) + 1, 'the guest IOMMU reports the address width the machine states (MGAW)').toBe(width);
      const end = list.reduce((max, range) => (BigInt(range.last) > max ? BigInt(range.last) : max), 0n);
      expect(`0x${end.toString(16)}`, `the last usable IOVA is 2^${width} - 1`).toBe(`0x${((1n << BigInt(width)) - 1n).toString(16)}`);
    });
  },
);
