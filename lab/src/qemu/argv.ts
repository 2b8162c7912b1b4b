// QEMU command lines from a machine profile: small pure builders, one per concern, so
// `--dry-run` prints exactly what runs and unit tests snapshot it.
import { join } from 'node:path';
import { deviceAddresses, type MachineProfile } from './profile.ts';
import { quote, quoteArgv } from '../util/quote.ts';
import { qemuEnv, targetArgs, type QemuTarget } from './target.ts';

export type Accel = 'kvm' | 'tcg';

export interface LaunchPaths {
  kernel: string;
  initrd: string;
  serialLog: string;
  pidFile: string;
  qmpSocket: string;
  sshPort: number;
  name: string;
}

/** The initramfs a guest booted in dir gets (lab.ts concatenates its archives there). */
export function initrdPath(dir: string): string {
  return join(dir, 'initrd.img');
}

/**
 * Where a guest booted in dir keeps its files: one function for Machine.start and for
 * `--dry-run`, so the command line a dry run prints is the one that runs (its port, name and
 * QMP directory are the only parts chosen at start).
 */
export function launchPaths(dir: string, o: { kernel: string; qmpDir: string; sshPort: number; name: string }): LaunchPaths {
  return {
    kernel: o.kernel,
    initrd: initrdPath(dir),
    serialLog: join(dir, 'serial.log'),
    pidFile: join(dir, 'qemu.pid'),
    qmpSocket: join(o.qmpDir, 'qmp.sock'),
    sshPort: o.sshPort,
    name: o.name,
  };
}

/** Debian's QEMU ships qboot: a minimal firmware that boots ~0.6 s faster than SeaBIOS. */
export const qbootRom = '/usr/share/qemu/qboot.rom';

/** Each QEMU boots its own qboot: an unpacked tree's is in its data directory. */
export function biosOf(target: QemuTarget): string {
  return target.dataDir ? join(target.dataDir, 'qboot.rom') : qbootRom;
}

export function machineArgs(profile: MachineProfile, accel: Accel): string[] {
  // kernel-irqchip=split is what intel-iommu's interrupt remapping needs under KVM.
  return [
    '-machine', 'q35,kernel-irqchip=split',
    '-accel', accel,
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp', String(profile.cpus),
    '-m', `${profile.memoryMiB}M`,
  ];
}

export function hygieneArgs(paths: Pick<LaunchPaths, 'name' | 'pidFile' | 'qmpSocket'>, bios = qbootRom): string[] {
  return [
    '-name', paths.name,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-bios', bios,
    '-pidfile', paths.pidFile,
    '-qmp', `unix:${paths.qmpSocket},server=on,wait=off`,
  ];
}

export function iommuArgs(profile: MachineProfile): string[] {
  const { intremap, cachingMode, snoopControl, awBits } = profile.iommu;
  const props = [`intremap=${intremap ? 'on' : 'off'}`];
  if (cachingMode) props.push('caching-mode=on');
  if (snoopControl) props.push('snoop-control=on');
  // Stated whenever this QEMU would not build the profile's width by itself (10.0 defaults to
  // 48, 7.2 to 39; unknown QEMUs always get it), so both targets build the same vIOMMU.
  if (profile.qemu.awBitsDefault !== awBits) props.push(`aw-bits=${awBits}`);
  // The vIOMMU must come before any PCI device on the command line, or the devices created
  // before it are not placed behind it.
  return ['-device', `intel-iommu,${props.join(',')}`];
}

/** "0000:00:03.1" → "03.1" as QEMU's addr= wants it. */
export function qemuAddr(bdf: string): string {
  const m = /^[0-9a-f]{4}:[0-9a-f]{2}:([0-9a-f]{2})\.([0-7])$/.exec(bdf);
  if (!m) throw new Error(`bad BDF ${bdf}`);
  return `${m[1]}.${m[2]}`;
}

export function deviceArgs(profile: MachineProfile): string[] {
  const at = deviceAddresses(profile);
  const shared = profile.topology === 'shared-slot';
  return [
    // The NVMe's namespace needs a backend: null-co reads zeroes and stores nothing.
    '-blockdev', 'driver=null-co,node-name=nvme0,size=67108864,read-zeroes=on',
    '-device', `nvme,serial=lab-nvme0,drive=nvme0,addr=${qemuAddr(at.nvme)}${shared ? ',multifunction=on' : ''}`,
    // The e1000's own network goes nowhere (restrict=on, no forwards); romfile= skips iPXE (~0.8 s).
    '-netdev', 'user,id=dut0,restrict=on',
    '-device', `e1000,netdev=dut0,romfile=,addr=${qemuAddr(at.e1000)}`,
    ...profile.extraDevices.flatMap((d) => ['-device', d]),
  ];
}

export function managementArgs(profile: MachineProfile, sshPort: number): string[] {
  // restrict=on: the guest can reach nothing; the only way in is the SSH forward on loopback.
  return [
    '-netdev', `user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    '-device', `virtio-net-pci,netdev=mgmt,romfile=,addr=${qemuAddr(deviceAddresses(profile).mgmt)}`,
  ];
}

export function kernelCmdline(profile: MachineProfile, extra: string[] = []): string {
  return [
    'console=ttyS0',
    profile.guestIommu ? 'intel_iommu=on' : 'intel_iommu=off',
    ...(profile.passthrough ? ['iommu=pt'] : []),
    // A panic must end QEMU (with -no-reboot) so the host sees it at once.
    'panic=-1',
    // The IO-APIC timer check at boot measures ticks against wall time; under TCG on a loaded
    // host it misfires ("timer doesn't work through Interrupt-remapped IO-APIC", seen with two
    // guests on 2 cores) and panics a kernel that is fine — a verdict on the host, not the kernel.
    'no_timer_check',
    // The lab kernel keeps tinyconfig's 256 legacy BSD ptys; registering them took 205 ms of a
    // ~1.8 s TCG boot (initcall_debug). Nothing uses them: dropbear's ptys are Unix98 (/dev/ptmx).
    'pty.legacy_count=0',
    ...profile.cmdline,
    ...extra,
  ].join(' ');
}

export function bootArgs(profile: MachineProfile, paths: Pick<LaunchPaths, 'kernel' | 'initrd' | 'serialLog'>, extraCmdline: string[] = []): string[] {
  return [
    '-kernel', paths.kernel,
    '-initrd', paths.initrd,
    '-append', kernelCmdline(profile, extraCmdline),
    '-serial', `file:${paths.serialLog}`,
  ];
}

export function qemuArgv(profile: MachineProfile, accel: Accel, paths: LaunchPaths, extraCmdline: string[] = []): string[] {
  return [
    profile.qemu.binary,
    // -L first: an unpacked QEMU looks for its firmware and option ROMs (pvh.bin) there.
    ...targetArgs(profile.qemu),
    ...hygieneArgs(paths, biosOf(profile.qemu)),
    ...machineArgs(profile, accel),
    ...iommuArgs(profile),
    ...deviceArgs(profile),
    ...managementArgs(profile, paths.sshPort),
    ...bootArgs(profile, paths, extraCmdline),
  ];
}

/** The environment the profile's QEMU needs (QEMU_MODULE_DIR for an unpacked tree). */
export function qemuEnvFor(profile: MachineProfile): Record<string, string> {
  return qemuEnv(profile.qemu);
}

/** One sh command line: the environment as assignments, then the argv (qemu-cmdline.sh, --dry-run). */
export function commandLine(argv: readonly string[], env: Record<string, string> = {}): string {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  return [...assignments, quoteArgv(argv)].join(' ');
}
