// Handing devices to vfio-pci inside the guest, the way a user would: driver_override, unbind
// from the kernel driver, drivers_probe. Returns where each device's cdev and group ended up.
import type { Vm } from '../guest/vm.ts';
import { LabError } from '../util/errors.ts';
import { sh } from '../util/quote.ts';
import type { DeviceName, GuestDevice } from './define.ts';

/** A guest shell script that binds one BDF to vfio-pci and prints "cdev group". */
export function bindScript(bdf: string): string {
  const dev = `/sys/bus/pci/devices/${bdf}`;
  return [
    sh`d=${dev}`,
    'echo vfio-pci > "$d/driver_override"',
    '[ -e "$d/driver" ] && echo ' + sh`${bdf}` + ' > "$d/driver/unbind"',
    sh`echo ${bdf} > /sys/bus/pci/drivers_probe`,
    'for i in 1 2 3 4 5 6 7 8 9 10; do [ -d "$d/vfio-dev" ] && break; sleep 0.1; done',
    'echo "/dev/vfio/devices/$(ls "$d/vfio-dev") $(basename "$(readlink "$d/iommu_group")")"',
  ].join('\n');
}

/**
 * Binds each named device, one exec each; `first` (a script, such as the kmsg marker of a reused
 * guest) runs in the first one, or alone when there is no device, saving it a round trip.
 */
export async function bindToVfio(vm: Vm, addresses: Record<DeviceName, string>, names: DeviceName[], first?: string): Promise<Partial<Record<DeviceName, GuestDevice>>> {
  const out: Partial<Record<DeviceName, GuestDevice>> = {};
  if (first && names.length === 0) {
    const r = await vm.exec(first);
    if (r.exitCode !== 0) throw new LabError(`could not prepare the guest: ${(r.stderr || r.stdout).trim()}`);
  }
  for (const [i, name] of names.entries()) {
    const bdf = addresses[name];
    const r = await vm.exec(i === 0 && first ? `${first}\n${bindScript(bdf)}` : bindScript(bdf));
    const m = /^(\/dev\/vfio\/devices\/vfio\d+) (\d+)$/m.exec(r.stdout);
    if (r.exitCode !== 0 || !m) {
      throw new LabError(`could not bind ${name} (${bdf}) to vfio-pci: ${(r.stderr || r.stdout).trim()}`);
    }
    out[name] = { name, bdf, cdev: m[1]!, group: Number(m[2]) };
  }
  return out;
}
