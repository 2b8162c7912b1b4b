// The public API for scenario files: everything a scenario may import.
export { scenario } from './scenario/define.ts';
export type { DeviceName, ExpectedFault, GuestDevice, Scenario, ScenarioContext, ScenarioOptions } from './scenario/define.ts';
export type { Expect, SyscallResult } from './scenario/expect.ts';
export { describeSyscall } from './scenario/expect.ts';
export type { ParkedOp, ParkedReport, StepOutcome } from './scenario/probe.ts';
export { parseDmarFaults } from './scenario/watchdog.ts';
export type { DmarFault } from './report/events.ts';
export { parseKselftestTap } from './scenario/kselftest.ts';
export type { KselftestResult } from './scenario/kselftest.ts';
