// The legacy VFIO path behind a real VMM: QEMU 7.2 (no iommufd=) takes the NVMe through its group
// and /dev/vfio/vfio, which in the lab kernel is iommufd's compat container (IOMMUFD_VFIO_CONTAINER
// on, VFIO_CONTAINER off). Its DMA must land in L2's RAM and nowhere else, and while it holds the
// group the cdev must be closed to everyone else.
import { openBound, scenario } from '../../lab/src/api.ts';
import {
  expectBlockedWriteCompletion,
  expectIdentifyLandsInL2,
  firstUnmappedPage,
  hex64,
  l1WriteFaultsAt,
  l2,
  l2Completion,
  l2EnableReady,
  l2Identify,
  l2MemMiB,
  l2PciSetup,
  l2Targets,
  legacyMaps,
  legacyQemu,
  pageMapped,
  parseTrace,
  qtest,
  quitVmm,
  startLegacyVmm,
  stopVmm,
  vmmLog,
  vmmStatus,
} from './vmm.ts';

const l2Bytes = BigInt(l2MemMiB) << 20n;
/** QEMU's NVMe BAR0: registers and doorbells, the MSI-X table and its PBA. */
const bar0Bytes = 0x4000n;

export default scenario(
  'legacy-vmm-dma-lands-in-l2-ram',
  {
    devices: ['nvme'],
    machine: 'vmm',
    image: 'vmm-legacy',
    tags: ['nested', 'vmm', 'legacy', 'group', 'dma'],
    timeoutMs: 120_000,
    requiresConfig: ['CONFIG_VFIO_GROUP', 'CONFIG_IOMMUFD_VFIO_CONTAINER'],
    concern: {
      text: "A VMM that knows only the legacy VFIO uAPI (group + container, VFIO_SET_IOMMU type1v2, MAP_DMA of guest RAM) must work on iommufd's compat container: the device DMAs into its guest's RAM at the GPAs the guest programs and faults anywhere else; meanwhile the cdev cannot be bound (the group path and the cdev exclude each other).",
      ref: 'drivers/iommu/iommufd/vfio_compat.c (iommufd_vfio_ioctl: SET_IOMMU, MAP_DMA); vfio_device_block_group(); QEMU 7.2 hw/vfio/common.c (vfio_connect_container, vfio_listener_region_add)',
    },
  },
  async ({ vm, probe, device, expect, expectFault, step, attach, skip, kernelConfig, defer }) => {
    // With VFIO_CONTAINER the misc device /dev/vfio/vfio is vfio's own type1 container instead.
    if (kernelConfig.get('CONFIG_VFIO_CONTAINER') === 'y') skip("CONFIG_VFIO_CONTAINER=y: /dev/vfio/vfio is vfio's type1 container, not iommufd's compat");
    const group = `/dev/vfio/${device.group}`;
    // QEMU's stderr and trace, also when a step failed: why the VMM refused or died is in it.
    defer('the VMM and what it holds', async () => {
      await attach('vmm.log', await vmmLog(vm)).catch(() => {});
      await stopVmm(vm);
    });
    const started = await step(`QEMU 7.2 holds ${device.bdf} through ${group} and the container; L2 paused (-S), no L2 kernel`, async () => {
      const version = (await vm.exec(`${legacyQemu} --version`)).stdout.trim();
      expect(version, "the VMM in L1 is the system's QEMU 7.2").toContain('QEMU emulator version 7.2');
      return startLegacyVmm(vm, device.bdf);
    });

    await step(`QEMU's open files: /dev/vfio/vfio and ${group}, a device FD from the group, no cdev and no /dev/iommu`, async () => {
      const { fds } = await vmmStatus(vm, started.pid);
      await attach('vmm-fds.txt', fds.join('\n') + '\n');
      expect(fds, 'the container').toContain('/dev/vfio/vfio');
      expect(fds, 'the group').toContain(group);
      expect(fds, 'the device FD GROUP_GET_DEVICE_FD returned').toContain('anon_inode:[vfio-device]');
      expect(fds.filter((f) => f === device.cdev || f === '/dev/iommu' || f.startsWith('/dev/vfio/devices/')), 'cdev or /dev/iommu files QEMU holds').toEqual([]);
    });

    const maps = await step("what QEMU mapped through the container: L2's RAM at IOVA = L2 GPA", async () => {
      const log = await vmmLog(vm);
      await attach('vmm-trace.log', log);
      const events = parseTrace(log, 'vfio_');
      expect(events.some((e) => e.name === 'vfio_get_device'), 'vfio_get_device traced (the device realized through the group)').toBe(true);
      const { mapped: m, failed } = legacyMaps(log);
      expect(failed.map((f) => `${hex64(f.iova)} +${hex64(f.size)}: errno ${f.errno}`), 'MAP_DMA calls that failed before L2 ran').toEqual([]);
      await attach('vmm-mappings.txt', m.map((x) => `${hex64(x.iova)} +${hex64(x.size)}`).join('\n') + '\n');
      for (const a of [l2.sq, l2.cq, ...l2Targets.map((t) => t.gpa)]) expect(pageMapped(BigInt(a), m), `L2 GPA 0x${a.toString(16)} (queues, Identify targets) in a mapped RAM section`).toBe(true);
      return m;
    });

    await step(`a second opener of ${device.cdev} meanwhile: the open is parked, BIND is refused, the group stays shut`, async () => {
      const r = await probe.run(...openBound(device.cdev), { info: 'get-info d', group: `group-open g ${device.group}` });
      expect.errno(r.open, 'ok', 'open the cdev (a parked FD; nothing is granted at open)');
      expect.errno(r.iommufd, 'ok', 'open /dev/iommu');
      expect.errno(r.bind, 'EBUSY', 'BIND while QEMU has the group open');
      expect.errno(r.info, 'EINVAL', 'GET_INFO on the unbound cdev FD');
      expect.errno(r.group, 'EBUSY', `open ${group} while QEMU has it open`);
    });

    await step('qtest: BAR0 placed, memory and bus mastering on', () => qtest(vm, l2PciSetup()));

    for (const t of l2Targets) {
      await step(`Identify into L2 RAM at 0x${t.gpa.toString(16)} (${t.where}): the completion is posted and the data landed there`, () =>
        expectIdentifyLandsInL2(vm, expect, t.gpa),
      );
    }

    const outside = firstUnmappedPage(maps, 4n * l2Bytes);
    await step(`Identify with PRP1 = ${hex64(outside)}, above L2's RAM and in no mapped section: a DMAR write fault there in L1`, async () => {
      expect(pageMapped(outside, maps) || outside < l2Bytes, `${hex64(outside)} is above L2's RAM and in no traced map`).toBe(false);
      // A fresh queue pair, so the Identify is again SQ/CQ entry 0 (what l2Identify writes).
      const csts = await l2EnableReady(vm);
      expect(Number(csts & 3n), 'CSTS after re-enabling (RDY=1, CFS=0)').toBe(1);
      expectFault({ device: 'nvme', access: 'write', address: hex64(outside) });
      await qtest(vm, l2Identify(Number(outside)));
      expectBlockedWriteCompletion(expect, vm, await l2Completion(vm), 'Identify to the unmapped IOVA');
      const faults = await l1WriteFaultsAt(vm, device.bdf, outside);
      expect(faults.length > 0, `DMAR write faults at ${hex64(outside)} in L1 (${faults.map((f) => `${f.address} ${f.reason}`).join('; ') || 'none'})`).toBe(true);
    });

    // Placing BAR0 made QEMU map the BAR's mmap too (for peer-to-peer DMA); iommufd's compat
    // container cannot pin MMIO pages and refuses it, which QEMU survives. Only that may fail.
    await step("MAP_DMA refused nothing of L2's RAM (only, if anything, the BAR's mmap)", async () => {
      const log = await vmmLog(vm);
      await attach('vmm-trace.log', log);
      const { failed } = legacyMaps(log);
      await attach('vmm-failed-maps.txt', failed.map((f) => `${hex64(f.iova)} +${hex64(f.size)} errno ${f.errno}`).join('\n') + '\n');
      const bar = BigInt(l2.bar0);
      expect(failed.filter((f) => f.iova < bar || f.iova >= bar + bar0Bytes).map((f) => `${hex64(f.iova)} +${hex64(f.size)}: errno ${f.errno}`), 'failed MAP_DMA calls outside BAR0').toEqual([]);
    });

    await step('the VMM quits cleanly', async () => {
      const out = await quitVmm(vm);
      expect(out.startsWith('exited after'), `vmm quit: ${out}`).toBe(true);
    });
    await attach('vmm.log', await vmmLog(vm)).catch(() => {});
    await stopVmm(vm);

    await step('once the VMM is gone the group opens again', async () => {
      const r = await probe.run({ group: `group-open g ${device.group}` });
      expect.errno(r.group, 'ok', `open ${group} after the VMM exited`);
    });
  },
);
