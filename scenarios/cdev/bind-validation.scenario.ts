// S3: BIND validates its argument, and a BIND that fails grants nothing.
import { scenario } from '../../lab/src/api.ts';

const attempts: [step: string, errno: string, label: string][] = [
  ['bind d i flags=1', 'EINVAL', 'BIND with flags != 0'],
  ['bind d i argsz=4', 'EINVAL', 'BIND with argsz shorter than the struct'],
  ['bind d #-1', 'EINVAL', 'BIND with iommufd = -1'],
  ['bind d n', 'EBADFD', 'BIND with the fd of /dev/null'],
  ['bind d v', 'EBADFD', 'BIND with the fd of another VFIO device'],
  ['bind d #999', 'EBADF', 'BIND with a closed fd number'],
  ['bind d i null', 'EFAULT', 'BIND with a NULL argument'],
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
    const script = [`open d ${nvme!.cdev}`, 'iommufd i', 'open n /dev/null', `open v ${e1000!.cdev}`];
    for (const [s] of attempts) script.push(s, 'get-info d');
    script.push('bind d i', 'get-info d');
    const out = await step('malformed BINDs, each followed by GET_INFO', () => probe.run(...script));
    const [open, iommufd, devnull, other] = out;
    for (const [r, label] of [[open, 'open nvme'], [iommufd, 'open /dev/iommu'], [devnull, 'open /dev/null'], [other, 'open e1000']] as const) expect.errno(r, 'ok', label);
    attempts.forEach(([, errno, label], i) => {
      expect.errno(out[4 + 2 * i], errno, label);
      expect.errno(out[5 + 2 * i], 'EINVAL', `GET_INFO after: ${label} (the FD must still be parked)`);
    });
    expect.errno(out.at(-2), 'ok', 'a well-formed BIND after all that');
    expect.errno(out.at(-1), 'ok', 'GET_INFO once bound');
  },
);
