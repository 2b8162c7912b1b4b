import test from 'ava';
import { deviceArgs, iommuArgs, kernelCmdline, managementArgs, qemuAddr, qemuArgv, type LaunchPaths } from '../../../src/qemu/argv.ts';
import { deviceAddresses, machineProfile } from '../../../src/qemu/profile.ts';

const paths: LaunchPaths = {
  kernel: '/k/vmlinux',
  initrd: '/r/initrd.img',
  serialLog: '/r/serial.log',
  pidFile: '/r/qemu.pid',
  qmpSocket: '/r/qmp.sock',
  sshPort: 40022,
  name: 'lab-test',
};

test('the default machine, as QEMU will run it', (t) => {
  t.snapshot(qemuArgv(machineProfile(), 'tcg', paths));
});

test('the vIOMMU comes before every PCI device', (t) => {
  const argv = qemuArgv(machineProfile(), 'kvm', paths);
  const iommu = argv.findIndex((a) => a.startsWith('intel-iommu'));
  const firstPci = argv.findIndex((a) => /^(nvme|e1000|virtio-net-pci),/.test(a));
  t.true(iommu > 0 && iommu < firstPci);
  t.true(argv.includes('host')); // -cpu host only under KVM
});

test('user networking is restricted and forwards SSH on loopback only', (t) => {
  const [, netdev] = managementArgs(machineProfile(), 40022);
  t.is(netdev, 'user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22');
  const dut = deviceArgs(machineProfile()).find((a) => a.startsWith('user,id=dut0'));
  t.is(dut, 'user,id=dut0,restrict=on');
});

test('variants change what they name and nothing else', (t) => {
  t.deepEqual(iommuArgs(machineProfile('intremap-off')), ['-device', 'intel-iommu,intremap=off']);
  t.deepEqual(iommuArgs(machineProfile('caching-mode')), ['-device', 'intel-iommu,intremap=on,caching-mode=on']);
  t.deepEqual(iommuArgs(machineProfile('snoop-control')), ['-device', 'intel-iommu,intremap=on,snoop-control=on']);
  t.is(kernelCmdline(machineProfile('pt')), 'console=ttyS0 intel_iommu=on iommu=pt panic=-1 no_timer_check pty.legacy_count=0');
  t.is(kernelCmdline(machineProfile(), ['rdinit=/floor']), 'console=ttyS0 intel_iommu=on panic=-1 no_timer_check pty.legacy_count=0 rdinit=/floor');
});

test('vmm-pt is the vmm guest (its memory) with iommu=pt, and nothing else changed', (t) => {
  const { name: ptName, ...pt } = machineProfile('vmm-pt');
  const { name: vmmName, ...vmm } = machineProfile('vmm');
  t.is(ptName, 'vmm-pt');
  t.is(vmmName, 'vmm');
  t.is(pt.memoryMiB, 768);
  t.deepEqual(pt, { ...vmm, passthrough: true });
  t.is(kernelCmdline(machineProfile('vmm-pt')), 'console=ttyS0 intel_iommu=on iommu=pt panic=-1 no_timer_check pty.legacy_count=0');
  // The QEMU command is the vmm machine's but for the kernel command line.
  const rest = (variant: string) => qemuArgv(machineProfile(variant), 'tcg', paths).filter((a) => !a.startsWith('console=ttyS0'));
  t.deepEqual(rest('vmm-pt'), rest('vmm'));
});

test('the shared-slot topology puts nvme and e1000 in one multifunction slot', (t) => {
  const profile = machineProfile('shared-slot');
  const args = deviceArgs(profile);
  t.truthy(args.find((a) => a.startsWith('nvme,') && a.includes('addr=03.0') && a.includes('multifunction=on')));
  t.truthy(args.find((a) => a.startsWith('e1000,') && a.includes('addr=03.1')));
  t.deepEqual(deviceAddresses(profile), { nvme: '0000:00:03.0', e1000: '0000:00:03.1', mgmt: '0000:00:02.0' });
});

test('BDFs become QEMU addr values; bad ones are refused', (t) => {
  t.is(qemuAddr('0000:00:1f.3'), '1f.3');
  t.throws(() => qemuAddr('00:03.0'));
});

test('an unknown variant is refused with the known ones listed', (t) => {
  t.throws(() => machineProfile('nope'), { message: /unknown machine variant "nope" \(known: default, pt,/ });
});
