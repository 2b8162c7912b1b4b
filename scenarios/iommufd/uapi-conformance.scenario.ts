// S12: the iommufd ioctl conventions that keep the uAPI extensible.
import { scenario } from '../../lab/src/api.ts';

const IOAS_ALLOC = 0x81;
const UNKNOWN = 0xff;

export default scenario(
  'iommufd-uapi-conventions',
  {
    devices: ['nvme'],
    tags: ['iommufd', 'uapi', 'S12'],
    concern: {
      text: 'iommufd ioctls must reject short structs, non-zero bytes past the known struct, unknown flags and unknown commands, so the uAPI can grow safely; IOVA ranges must exclude the MSI window once a device is attached.',
      ref: 'iommufd_fops_ioctl() / iommufd_ucmd (drivers/iommu/iommufd/main.c); Documentation/userspace-api/iommufd.rst',
    },
  },
  async ({ probe, device, expect, step }) => {
    await step('size, trailing bytes, flags, unknown command', async () => {
      const [, short, trailing, flags, unknown, ok] = await probe.run(
        'iommufd i',
        `raw-iommufd i ${IOAS_ALLOC} 4`,
        `raw-iommufd i ${IOAS_ALLOC} 64 trail=1`,
        `raw-iommufd i ${IOAS_ALLOC} 12 flags=1`,
        `raw-iommufd i ${UNKNOWN} 16`,
        `raw-iommufd i ${IOAS_ALLOC} 64`,
      );
      expect.errno(short, 'EINVAL', 'IOAS_ALLOC with size below the minimum');
      expect.errno(trailing, 'E2BIG', 'IOAS_ALLOC with a non-zero byte past the known struct');
      expect.errno(flags, 'EOPNOTSUPP', 'IOAS_ALLOC with an unknown flag');
      expect.errno(unknown, 'ENOTTY', 'an unknown iommufd command');
      expect.errno(ok, 'ok', 'IOAS_ALLOC with a larger, zero-padded struct');
    });
    await step('IOVA ranges: too small an array, then the ranges after ATTACH', async () => {
      const [, , , , small, , attach, ranges] = await probe.run(
        `open d ${device.cdev}`, 'iommufd i', 'bind d i', 'ioas-alloc i a', 'iova-ranges i a 0', 'ioas-alloc i unused', 'attach d a', 'iova-ranges i a 16',
      );
      expect.errno(small, 'EMSGSIZE', 'IOVA_RANGES with no room');
      expect((small?.num_iovas as number) >= 1, 'IOVA_RANGES reports the count needed').toBe(true);
      expect.errno(attach, 'ok', 'ATTACH');
      expect.errno(ranges, 'ok', 'IOVA_RANGES after ATTACH');
      const list = (ranges?.ranges ?? []) as { start: string; last: string }[];
      const msiStart = 0xfee00000n;
      const msiLast = 0xfeefffffn;
      const overlapping = list.filter((r) => BigInt(r.start) <= msiLast && BigInt(r.last) >= msiStart);
      expect(overlapping, 'usable ranges overlapping the MSI window 0xfee00000-0xfeefffff').toEqual([]);
      expect(list.length >= 2, 'the MSI window splits the IOVA space').toBe(true);
    });
  },
);
