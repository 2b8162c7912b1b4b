// S3: BIND validates its argument, and a BIND that fails grants nothing.
import { scenario } from '../../lab/src/api.ts';

const attempts: { step: `bind ${string}`; errno: string; label: string }[] = [
  { step: 'bind d i flags=1', errno: 'EINVAL', label: 'BIND with flags != 0' },
  { step: 'bind d i argsz=4', errno: 'EINVAL', label: 'BIND with argsz shorter than the struct' },
  { step: 'bind d #-1', errno: 'EINVAL', label: 'BIND with iommufd = -1' },
  { step: 'bind d n', errno: 'EBADFD', label: 'BIND with the fd of /dev/null' },
  { step: 'bind d v', errno: 'EBADFD', label: 'BIND with the fd of another VFIO device' },
  { step: 'bind d #999', errno: 'EBADF', label: 'BIND with a closed fd number' },
  { step: 'bind d i null', errno: 'EFAULT', label: 'BIND with a NULL argument' },
];

export default scenario(
  'bind-validates-and-failure-grants-nothing',
  {
    devices: ['nvme', 'e1000'],
    tags: ['cdev', 'bind', 'S3'],
    concern: {
      text: 'Every malformed BIND must be refused with its own errno, and none of them may leave the FD unparked.',
      ref: 'vfio_df_ioctl_bind_iommufd() (drivers/vfio/device_cdev.c), Linux 6.6',
    },
  },
  async ({ probe, devices, expect, step }) => {
    const { nvme, e1000 } = devices;
    // Each attempt k is labelled try<k>, the GET_INFO after it after<k>.
    const tries = attempts.flatMap((a, k) => [{ [`try${k}`]: a.step }, { [`after${k}`]: 'get-info d' as const }]);
    const r = await step('malformed BINDs, each followed by GET_INFO', () =>
      probe.run({ open: `open d ${nvme!.cdev}`, iommufd: 'iommufd i', devnull: 'open n /dev/null', other: `open v ${e1000!.cdev}` }, ...tries, { bind: 'bind d i', info: 'get-info d' }),
    );
    expect.errno(r.open, 'ok', 'open nvme');
    expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
    expect.errno(r.devnull, 'ok', 'open /dev/null');
    expect.errno(r.other, 'ok', 'open e1000');
    attempts.forEach((a, k) => {
      expect.errno(r[`try${k}`], a.errno, a.label);
      expect.errno(r[`after${k}`], 'EINVAL', `GET_INFO after: ${a.label} (the FD must still be parked)`);
    });
    expect.errno(r.bind, 'ok', 'a well-formed BIND after all that');
    expect.errno(r.info, 'ok', 'GET_INFO once bound');
  },
);
