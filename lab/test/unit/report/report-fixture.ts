// A small, realistic run for the reporter tests: one scenario of each status, with the
// awkward data real runs produce (markup in failures, a serial tail with "<&>", a control
// byte and an escape sequence, a skip reason with '#' and quotes).
import type { GuestLogFinding, Reporter, RunEvent, RunInfo, ScenarioInfo, ScenarioResult, Status } from '../../../src/report/events.ts';
import { summarize } from '../../../src/report/events.ts';

export const RUN_DIR = '/var/lab/runs/20250101-120000-abcd';

export const run: RunInfo = {
  runId: '20250101-120000-abcd',
  runDir: RUN_DIR,
  startedAt: '2025-01-01T12:00:00.000Z',
  labVersion: '0.1.0',
  kernel: { release: '6.13.0-rc1-lab', key: 'k-3f2a', base: 'v6.13-rc1', patches: [{ index: 1, subject: 'vfio: park the fd' }] },
  accel: 'kvm',
  total: 4,
};

function info(area: string, name: string): ScenarioInfo {
  return {
    id: `${area}/${name}`,
    name,
    file: `scenarios/${area}/${name}.scenario.ts`,
    area,
    tags: [],
    devices: ['nvme'],
    machine: 'q35-intel',
    flavour: 'default',
    concern: { text: `the ${name} concern`, ref: 'https://lore.kernel.org/r/1@example' },
  };
}

export function result(area: string, name: string, status: Status, ms: number, extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    scenario: info(area, name),
    status,
    ms,
    steps: [],
    failures: [],
    observations: [],
    dmar: { expected: [], observed: [], unexpected: [] },
    findings: [],
    artifacts: {},
    ...extra,
  };
}

export const passed = result('cdev', 'parked-fd', 'passed', 3200, {
  steps: [{ title: 'boot', status: 'passed', ms: 2100 }],
  observations: [{ op: 'VFIO_DEVICE_BIND_IOMMUFD', expected: 'ok', observed: 'ok (ret 0)', ok: true }],
  artifacts: { serial: 'cdev/parked-fd/serial.log' },
});

export const failed = result('cdev', 'double-bind', 'failed', 1500, {
  steps: [{ title: 'second bind', status: 'failed', ms: 40, message: 'expected EBUSY' }],
  failures: ['second BIND returned 0, expected <EBUSY> & nothing else'],
  observations: [
    { op: 'VFIO_DEVICE_BIND_IOMMUFD', expected: 'ok', observed: 'ok (ret 0)', ok: true },
    { op: 'VFIO_DEVICE_BIND_IOMMUFD#2', expected: 'EBUSY', observed: 'ok (ret 0)', ok: false },
  ],
  dmar: {
    expected: [],
    observed: [{ device: '00:03.0', access: 'write', address: '0x20000000', reason: '0x05 PTE Write access is not set' }],
    unexpected: [{ device: '00:03.0', access: 'write', address: '0x20000000', reason: '0x05 PTE Write access is not set' }],
  },
  findings: [{ kind: 'WARN', title: 'WARNING in vfio_main', line: 'WARNING: CPU: 0 PID: 1 at drivers/vfio/vfio_main.c:42', excerpt: 'Call Trace: ...' }],
  artifacts: { serial: 'cdev/double-bind/serial.log', dmesg: 'cdev/double-bind/dmesg.txt' },
});

export const SERIAL_TAIL = '[    1.000] pci 0000:00:03.0: <&> "quoted"\x07 bell\r\n\x1b[31m[    1.200] Kernel panic - not syncing ]]>\x1b[0m\r\n';

export const errored = result('iommufd', 'ioas-map', 'errored', 90_500, {
  error: { phase: 'boot', message: 'guest did not reach sshd within 90.0 s', serialTail: SERIAL_TAIL },
  artifacts: { serial: 'iommufd/ioas-map/serial.log' },
});

export const skipped = result('iommufd', 'nested-s2', 'skipped', 0, { skipReason: 'needs "nested" #VT-d & KVM' });

export const results = [passed, failed, errored, skipped];

/** The sequence a runner emits for the four results above. */
export function events(): RunEvent[] {
  const out: RunEvent[] = [{ type: 'run-start', run }];
  for (const r of results) {
    out.push({ type: 'scenario-start', scenario: r.scenario });
    for (const step of r.steps) out.push({ type: 'step', scenarioId: r.scenario.id, step });
    out.push({ type: 'scenario-end', result: r });
  }
  out.push({ type: 'run-end', run, summary: summarize(results, 95_250), results });
  return out;
}

export async function feed(reporter: Reporter, list: RunEvent[] = events()): Promise<void> {
  for (const e of list) await reporter.onEvent(e);
  await reporter.close?.();
}

/** A stream double that records what was written. */
export function sink(isTTY = false): { write(chunk: string): boolean; readonly isTTY: boolean; columns: number; text(): string } {
  const chunks: string[] = [];
  return { write: (c: string) => chunks.push(c) > 0, isTTY, columns: 80, text: () => chunks.join('') };
}

/**
 * A run of six planned scenarios stopped by Ctrl-C during the third: two finished, one
 * interrupted, three never started (what the runner hands the reporters on an interrupt).
 */
export const interruptedRun: RunInfo = { ...run, total: 6 };
export const stopped = result('cdev', 'parked', 'interrupted', 4200, { artifacts: { serial: 'cdev/parked/serial.log' } });
export const interruptedResults = [passed, failed, stopped];
export function interruptedEvents(): RunEvent[] {
  const out: RunEvent[] = [{ type: 'run-start', run: interruptedRun }];
  for (const r of interruptedResults) out.push({ type: 'scenario-start', scenario: r.scenario }, { type: 'scenario-end', result: r });
  out.push({ type: 'run-end', run: interruptedRun, summary: summarize(interruptedResults, 8_900), results: interruptedResults });
  return out;
}

/** A WARN the kernel printed between two scenarios of one guest, in no scenario's part of the log. */
export const between: GuestLogFinding = {
  where: 'between cdev/parked-fd and cdev/double-bind',
  findings: [{ kind: 'WARN', title: 'WARNING in iommufd_fops_release', line: 'WARNING: CPU: 1 PID: 0 at drivers/iommu/iommufd/main.c:99', excerpt: '' }],
  dmar: [],
  log: 'guests/worker-1-guest-1/outside-1.log',
};

/** The clean four-scenario run with that finding reported as it came, before run-end. */
export function outsideEvents(): RunEvent[] {
  const out = events().slice(0, -1);
  out.push({ type: 'guest-log', finding: between }, { type: 'run-end', run, summary: summarize(results, 95_250, [between]), results, guestLogs: [between] });
  return out;
}
