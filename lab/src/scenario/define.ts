// The scenario API: one file per scenario, default-exporting scenario(name, options, body).
import type { Concern, DmarFault } from '../report/events.ts';
import type { Vm } from '../guest/vm.ts';
import type { Expect } from './expect.ts';
import type { Probe } from './probe.ts';

export type DeviceName = 'nvme' | 'e1000';

export interface GuestDevice {
  name: DeviceName;
  bdf: string;
  /** /dev/vfio/devices/vfioN once bound to vfio-pci. */
  cdev: string;
  group: number;
}

/**
 * A DMAR fault a scenario expects. It is required, not only allowed: one that never comes fails
 * the scenario. Device, direction and address (the IOVA, matched by page) are always named, so
 * a declaration cannot be satisfied by some other fault; the reason is optional.
 */
export type ExpectedFault = Pick<DmarFault, 'access' | 'address'> & { device: DeviceName | string; reason?: RegExp | string };

export interface ScenarioOptions {
  /** Devices moved to vfio-pci before the body runs. */
  devices: DeviceName[];
  machine?: string;
  /** Run on several machine variants: the first keeps the plain id, the others get "@variant". */
  machines?: string[];
  flavour?: string;
  timeoutMs?: number;
  tags?: string[];
  concern: Concern;
  expectedFaults?: ExpectedFault[];
  /** Kernel options the scenario needs; if one is off in the kernel under test, it is skipped. */
  requiresConfig?: string[];
  /**
   * The guest image: 'vmm' adds QEMU 10 to the lab's initramfs, 'vmm-legacy' the system's QEMU 7.2
   * (lab/src/image/vmm.ts). @default 'lab'
   */
  image?: 'lab' | 'vmm' | 'vmm-legacy';
  /** Always boot a guest of its own, never one a previous scenario used (see scenario/reset.ts). */
  freshGuest?: boolean;
}

export interface ScenarioContext {
  vm: Vm;
  probe: Probe;
  /** The first of options.devices. */
  device: GuestDevice;
  devices: Partial<Record<DeviceName, GuestDevice>>;
  expect: Expect;
  step<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Registers a teardown for what the body started in the guest (a VMM, a holding probe): run
   * after the body, whether it returned, failed or threw, newest first, before the log is read.
   * One that fails is a failure of the scenario ("teardown \"…\" failed: …"): it left state behind.
   */
  defer(name: string, fn: () => Promise<void>): void;
  skip(reason: string): never;
  signal: AbortSignal;
  /** Keeps a file (written in the run dir) as an artifact of this scenario. */
  attach(name: string, content: string): Promise<void>;
  /** The kernel config of the kernel under test. */
  kernelConfig: ReadonlyMap<string, string>;
  /** Declares a DMAR fault only known at run time (e.g. at a canary's guest-physical address). */
  expectFault(fault: ExpectedFault): void;
  /** The machine variant this instance runs on. */
  machine: string;
  /** The kernel under test: its release and, when built with IOMMUFD_TEST, its selftest binaries. */
  kernel: { release: string; selftests: string | null };
}

export interface Scenario {
  readonly kind: 'iommufd-lab-scenario';
  name: string;
  options: Required<Omit<ScenarioOptions, 'expectedFaults' | 'requiresConfig' | 'machines' | 'freshGuest'>> & Pick<ScenarioOptions, 'expectedFaults' | 'requiresConfig' | 'machines' | 'freshGuest'>;
  body: (ctx: ScenarioContext) => Promise<void>;
}

// The scenarios this copy of the module defined. A scenario made by a second copy of the library
// (another path to api.ts, or a bundle beside the sources) would throw SkipSignals and errors of
// classes the runner does not know: the loader refuses it instead (lab/bin/lab.js, loader.ts).
const defined = new WeakSet<Scenario>();

export function definedHere(s: Scenario): boolean {
  return defined.has(s);
}

/**
 * Throws unless a declared fault names its device, direction and address: the type says so, and
 * this says it to a scenario the type checker did not see (or a cast). A wildcard declaration
 * would let any fault of the run stand in for the one the scenario means.
 */
export function checkExpectedFault(f: ExpectedFault, where: string): void {
  const missing = (['device', 'access', 'address'] as const).filter((k) => typeof f?.[k] !== 'string' || f[k] === '');
  if (missing.length > 0) throw new Error(`${where}: a declared DMAR fault must name its ${missing.join(', ')} (got ${JSON.stringify(f)})`);
  if (f.access !== 'read' && f.access !== 'write') throw new Error(`${where}: a declared DMAR fault's access is "read" or "write" (got "${f.access}")`);
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(f.address)) throw new Error(`${where}: a declared DMAR fault's address is an IOVA such as 0x200000 (got "${f.address}")`);
}

export function scenario(name: string, options: ScenarioOptions, body: (ctx: ScenarioContext) => Promise<void>): Scenario {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`scenario name "${name}": use lower-case words joined by dashes`);
  for (const f of options.expectedFaults ?? []) checkExpectedFault(f, `scenario ${name}`);
  const s: Scenario = {
    kind: 'iommufd-lab-scenario',
    name,
    options: {
      machine: 'default',
      flavour: 'lab',
      timeoutMs: 60_000,
      image: 'lab',
      tags: [],
      ...options,
    },
    body,
  };
  defined.add(s);
  return s;
}

export class SkipSignal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}
