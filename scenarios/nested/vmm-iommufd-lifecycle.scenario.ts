// A real VMM as the cdev's client: QEMU 10 binds, allocates, attaches and maps; at its exit the
// kernel has released everything, so the next opener binds as if QEMU had never been there.
import { attached, scenario } from '../../lab/src/api.ts';
import { eventOrder, l2MemMiB, num, parseTrace, quitVmm, startVmm, stopVmm, vmmLog, vmmStatus } from './vmm.ts';

export default scenario(
  'vmm-iommufd-lifecycle',
  {
    devices: ['nvme'],
    machine: 'vmm',
    image: 'vmm',
    tags: ['nested', 'vmm', 'iommufd'],
    timeoutMs: 90_000,
    concern: {
      text: 'The path a VMM takes — cdev open, BIND, IOAS_ALLOC, HWPT_ALLOC, ATTACH to the HWPT, MAP of guest RAM — must work end to end, pin what it maps, and be undone entirely when the VMM exits.',
      ref: 'QEMU "vfio: Adopt iommufd" series (Zhenzhong Duan, Eric Auger; QEMU 9.0): hw/vfio/iommufd.c; vfio_df_unbind_iommufd()',
    },
  },
  async ({ vm, probe, device, expect, step, attach, defer }) => {
    defer('the VMM and what it holds', async () => {
      await stopVmm(vm);
    });
    const started = await step(`QEMU 10 starts with ${device.bdf} over iommufd (-S)`, () => startVmm(vm, device.bdf));
    expect(started.pid > 0, `VMM pid (${started.pid})`).toBe(true);

    await step('QEMU traced the iommufd lifecycle in order: BIND, IOAS, HWPT, ATTACH, MAP', async () => {
      const log = await vmmLog(vm);
      await attach('vmm-trace.log', log);
      const events = parseTrace(log);
      const order = eventOrder(events);
      const at = (name: string) => order.indexOf(name);
      for (const name of ['iommufd_cdev_connect_and_bind', 'iommufd_backend_alloc_ioas', 'iommufd_backend_alloc_hwpt', 'iommufd_cdev_attach_ioas_hwpt', 'iommufd_backend_map_dma']) {
        expect(order, 'iommufd trace events QEMU emitted').toContain(name);
      }
      expect(at('iommufd_backend_alloc_ioas') < at('iommufd_backend_alloc_hwpt') && at('iommufd_backend_alloc_hwpt') < at('iommufd_cdev_attach_ioas_hwpt'), 'IOAS before HWPT before ATTACH').toBe(true);
      const maps = events.filter((e) => e.name === 'iommufd_backend_map_dma');
      // The event ends in the ioctl's return value: "(0)" is success.
      const failed = maps.filter((e) => !/\(0\)$/.test(e.line));
      expect(maps.length > 0 && failed.length === 0, `MAPs traced (${maps.length}), failed: ${failed.map((e) => e.line).join('; ') || 'none'}`).toBe(true);
      const mappedMiB = maps.reduce((sum, e) => sum + (num(e, 'size') || 0), 0) / 2 ** 20;
      // Guest RAM (below and above the PCI hole) plus the BIOS: at least the L2's RAM.
      expect(mappedMiB >= l2MemMiB, `MiB QEMU mapped (${mappedMiB.toFixed(1)}) ≥ the L2's ${l2MemMiB} MiB`).toBe(true);
    });

    await step('the kernel side: QEMU holds the cdev and /dev/iommu, and pins the L2 RAM', async () => {
      const s = await vmmStatus(vm, started.pid);
      await attach('vmm-status.json', JSON.stringify(s, null, 2));
      expect(s.fds, 'QEMU fds').toContain(device.cdev);
      expect(s.fds, 'QEMU fds').toContain('/dev/iommu');
      // iommufd charges pinned pages to the mm (pinned_vm → VmPin).
      expect(s.pinnedKiB >= l2MemMiB * 1024, `VmPin of the VMM (${s.pinnedKiB} kB) ≥ the L2's RAM`).toBe(true);
    });

    await step('QEMU quits cleanly', async () => {
      const out = await quitVmm(vm);
      expect(out.startsWith('exited after'), `vmm quit: ${out}`).toBe(true);
      const still = await vm.exec(`kill -0 ${started.pid}`);
      expect(still.exitCode !== 0, 'VMM process gone after quit').toBe(true);
    });
    await stopVmm(vm);

    await step('after the VMM: the probe opens, BINDs and ATTACHes as a first opener', async () => {
      const r = await probe.run(...attached(device.cdev), { map: 'map i a 0x100000 4096' });
      expect.errno(r.open, 'ok', 'open the cdev');
      expect.errno(r.bind, 'ok', 'BIND after the VMM exited');
      expect.errno(r.ioas, 'ok', 'IOAS_ALLOC');
      expect.errno(r.attach, 'ok', 'ATTACH after the VMM exited');
      expect.errno(r.map, 'ok', 'MAP');
    });
  },
);
