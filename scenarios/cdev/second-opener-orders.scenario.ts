// S2b: a second opener stays parked whatever the order of open, BIND and close around it.
import { scenario, sweepGaps, type Outcome } from '../../lab/src/api.ts';

export default scenario(
  'every-later-opener-is-parked',
  {
    devices: ['nvme'],
    tags: ['cdev', 'bind', 'S2'],
    concern: {
      text: 'Access is granted to the one file that BINDs, never to the device: an FD opened after another FD was bound, one left open when the bound FD closes, and one opened after every FD closed must each be parked (every operation EINVAL) until it BINDs itself — and each can BIND once the device is free.',
      ref: 'vfio: "Block device access via device fd until device is opened" (Linux 6.6): access_granted is per vfio_device_file, set only in vfio_df_ioctl_bind_iommufd()',
    },
  },
  async ({ probe, device, expect, step }) => {
    const r = await step('open d1 and BIND it; open d2 after; close d1; BIND d2; open d3 after; close d2 and d3; open d4 last', () =>
      probe.run(
        { open1: `open d1 ${device.cdev}`, iommufd: 'iommufd i', bind1: 'bind d1 i' },
        // d2 is opened while d1 is bound: a grant kept on the device would reach it.
        { open2: `open d2 ${device.cdev}`, parkedWhileBound: 'parked d2', bind2WhileBound: 'bind d2 i' },
        // d1 goes away with d2 still open: nothing of d1's grant may pass to d2.
        { close1: 'close d1', parkedAfterClose: 'parked d2', bind2: 'bind d2 i', info2: 'get-info d2' },
        // d3 is opened after d2 bound, then d2 closes: d3 must still be parked, and free to BIND.
        { open3: `open d3 ${device.cdev}`, parked3: 'parked d3', close2: 'close d2', parked3Alone: 'parked d3', close3: 'close d3' },
        // Every FD closed: a fresh opener starts parked, and BINDs.
        { iommufd2: 'iommufd j', open4: `open d4 ${device.cdev}`, parkedFresh: 'parked d4', bind4: 'bind d4 j', info4: 'get-info d4' },
      ),
    );
    expect.errno(r.open1, 'ok', 'open d1');
    expect.errno(r.bind1, 'ok', 'BIND d1');
    expect.errno(r.open2, 'ok', 'open d2 while d1 is bound');
    expectParked(r.parkedWhileBound, 'd2 opened after d1 was bound');
    expect.errno(r.bind2WhileBound, 'EINVAL', 'BIND d2 while d1 holds the device');
    expect.errno(r.close1, 'ok', 'close the bound d1');
    expectParked(r.parkedAfterClose, 'd2 after the bound d1 closed');
    expect.errno(r.bind2, 'ok', 'BIND d2 once d1 is gone');
    expect.errno(r.info2, 'ok', 'GET_INFO on d2 after its own BIND');
    expect.errno(r.open3, 'ok', 'open d3 while d2 is bound');
    expectParked(r.parked3, 'd3 opened after d2 was bound');
    expect.errno(r.close2, 'ok', 'close the bound d2');
    expectParked(r.parked3Alone, 'd3 after the bound d2 closed');
    expect.errno(r.open4, 'ok', 'open d4 after every FD closed');
    expectParked(r.parkedFresh, 'd4, a fresh opener');
    expect.errno(r.bind4, 'ok', 'BIND d4 to a second iommufd');
    expect.errno(r.info4, 'ok', 'GET_INFO on d4 after its own BIND');

    function expectParked(parked: Outcome<'parked'>, who: string) {
      expect(sweepGaps(parked.ops, parked.swept), `operations tried on ${who} against the sweep the probe reports`).toEqual([]);
      for (const op of parked.ops) expect.errno(op, 'EINVAL', `${who}: ${op.name}`);
    }
  },
);
