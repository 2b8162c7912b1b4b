// Soft expectations: a failed one is recorded and the scenario goes on, so one run names every
// ioctl that got through, not just the first. Errno checks also become report observations.
import { isDeepStrictEqual, inspect } from 'node:util';
import type { Observation } from '../report/events.ts';

export interface SyscallResult {
  ret: number | null;
  errno: number;
  errname: string | null;
}

export interface Matchers {
  toBe(expected: unknown): boolean;
  toEqual(expected: unknown): boolean;
  toMatchObject(expected: Record<string, unknown>): boolean;
  toBeTruthy(): boolean;
  toContain(item: unknown): boolean;
}

export interface Expect {
  (actual: unknown, label?: string): Matchers;
  /** The syscall failed with exactly this errno ("EINVAL"), or succeeded when "ok". */
  errno(result: SyscallResult | undefined, expected: string, label: string): boolean;
  /** Records a failure with a message; for checks that do not fit a matcher. */
  fail(message: string): void;
  /** An observation row in words (e.g. a selftest: expected "pass", observed "fail"). */
  outcome(label: string, expected: string, observed: string): boolean;
  readonly failures: readonly string[];
  readonly observations: readonly Observation[];
}

const show = (v: unknown) => inspect(v, { depth: 4, breakLength: 120 });

export function describeSyscall(r: SyscallResult | undefined): string {
  if (!r) return 'not run';
  return r.errno === 0 && (r.ret ?? 0) >= 0 ? `ok (ret ${r.ret})` : (r.errname ?? `errno ${r.errno}`);
}

function partialMatch(actual: unknown, expected: unknown): boolean {
  if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
    if (!actual || typeof actual !== 'object') return false;
    return Object.entries(expected).every(([k, v]) => partialMatch((actual as Record<string, unknown>)[k], v));
  }
  return isDeepStrictEqual(actual, expected);
}

export function createExpect(): Expect {
  const failures: string[] = [];
  const observations: Observation[] = [];
  const check = (ok: boolean, message: () => string) => {
    if (!ok) failures.push(message());
    return ok;
  };
  const expect = ((actual: unknown, label = 'value') => ({
    toBe: (expected) => check(Object.is(actual, expected), () => `${label}: expected ${show(expected)}, got ${show(actual)}`),
    toEqual: (expected) => check(isDeepStrictEqual(actual, expected), () => `${label}: expected ${show(expected)}, got ${show(actual)}`),
    toMatchObject: (expected) => check(partialMatch(actual, expected), () => `${label}: expected to match ${show(expected)}, got ${show(actual)}`),
    toBeTruthy: () => check(Boolean(actual), () => `${label}: expected a truthy value, got ${show(actual)}`),
    toContain: (item) => check(Array.isArray(actual) ? actual.some((a) => isDeepStrictEqual(a, item)) : String(actual).includes(String(item)), () => `${label}: expected to contain ${show(item)}, got ${show(actual)}`),
  })) as Expect;
  expect.errno = (result, expected, label) => {
    const observed = describeSyscall(result);
    const ok = expected === 'ok' ? observed.startsWith('ok') : observed === expected;
    observations.push({ op: label, expected, observed, ok });
    return check(ok, () => `${label}: expected ${expected}, got ${observed}`);
  };
  expect.fail = (message) => void failures.push(message);
  expect.outcome = (label, expected, observed) => {
    const ok = expected === observed;
    observations.push({ op: label, expected, observed, ok });
    return check(ok, () => `${label}: expected ${expected}, got ${observed}`);
  };
  Object.defineProperty(expect, 'failures', { get: () => failures });
  Object.defineProperty(expect, 'observations', { get: () => observations });
  return expect;
}
