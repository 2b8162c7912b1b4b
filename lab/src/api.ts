// The public API for scenario files: everything a scenario may import.
export { scenario } from './scenario/define.ts';
export type { DeviceName, ExpectedFault, GuestDevice, Scenario, ScenarioContext, ScenarioOptions } from './scenario/define.ts';
export type { Expect, SyscallResult } from './scenario/expect.ts';
export { describeSyscall } from './scenario/expect.ts';
export type { AnyOutcome, OutcomeOf, Probe, ProbeOptions, ScriptItem, StepResults } from './scenario/probe.ts';
export type { OpName, Outcome, ParkedOp, ParkedReport, ProbeInfo, Swept } from './scenario/probe-schema.ts';
export { ProbeOutputError } from './scenario/probe-schema.ts';
export { attached, bound, canary, childResult, defaultHandles, identifyLanded, iova, mappedBuffer, nvmeEnabled, openBound, readyForIdentify, sweepGaps } from './scenario/steps.ts';
export type { BufferOptions, DeviceHandles, NvmeEnableOptions } from './scenario/steps.ts';
export { parseDmarFaults } from './scenario/watchdog.ts';
export type { DmarFault } from './report/events.ts';
export { parseKselftestTap } from './scenario/kselftest.ts';
export type { KselftestResult } from './scenario/kselftest.ts';
