// Planning a run: which scenarios, on which kernel flavour and machine, in which order. Pure.
import type { LoadedScenario } from './loader.ts';
import { scenarioOf } from '../report/events.ts';

export interface Job {
  id: string; // scenario id, unique within the run
  scenario: LoadedScenario;
  machine: string;
  flavour: string;
}

export interface PlanOptions {
  patterns: string[];
  /** Forces every scenario onto one machine variant (--machine). */
  machine?: string;
}

/** A pattern selects a scenario by a substring of its id, or by a tag ("tag:dma"). */
export function selects(s: LoadedScenario, pattern: string): boolean {
  if (pattern.startsWith('tag:')) return s.scenario.options.tags.includes(pattern.slice(4));
  return s.id.includes(pattern.replace(/@.*$/, ''));
}

export function plan(scenarios: LoadedScenario[], options: PlanOptions): Job[] {
  const chosen = options.patterns.length === 0 ? scenarios : scenarios.filter((s) => options.patterns.some((p) => selects(s, p)));
  // "name@variant" selects that instance only; a pattern without "@" every instance of what it selects.
  const instance = (j: Job) => options.patterns.length === 0 || options.patterns.some((p) => selects(j.scenario, p) && (!p.includes('@') || j.id.endsWith(p.slice(p.indexOf('@')))));
  const jobs = chosen.flatMap((s) => {
    const flavour = s.scenario.options.flavour;
    if (options.machine) return [{ id: s.id, scenario: s, machine: options.machine, flavour }];
    const machines = s.scenario.options.machines ?? [s.scenario.options.machine];
    return machines.map((machine, i) => ({ id: i === 0 ? s.id : `${s.id}@${machine}`, scenario: s, machine, flavour }));
  });
  const wanted = jobs.filter(instance);
  // Grouped by kernel flavour, then machine, so one kernel build serves a block of jobs.
  return wanted.sort((a, b) => a.flavour.localeCompare(b.flavour) || a.machine.localeCompare(b.machine) || a.id.localeCompare(b.id));
}

/**
 * The lab's own scenarios, without the peer pack (the kernel's selftests, tag "peer"): what
 * teeth and validate judge. No regression model or review concern is written against the pack,
 * and it would add ~25 s to every session; `./labw run peer/` runs it on any kernel.
 */
export function labScenariosOnly(jobs: Job[]): Job[] {
  return jobs.filter((j) => !j.scenario.scenario.options.tags.includes('peer'));
}

export function groupByKernel(jobs: Job[]): Map<string, Job[]> {
  const groups = new Map<string, Job[]>();
  for (const job of jobs) groups.set(job.flavour, [...(groups.get(job.flavour) ?? []), job]);
  return groups;
}

/** "I/N" → {index, count}; I is 1-based. */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) throw new Error(`--shard ${spec}: use I/N with 1 ≤ I ≤ N`);
  return { index, count };
}

/**
 * Shard I of N: every N-th scenario of the planned (deterministic) order, starting at the I-th,
 * with all of its machine variants. The N shards together run each job exactly once, jobs of one
 * kernel spread over all shards, and a shard alone can tell a scenario that skipped on every
 * machine (not judged) from one whose other variants ran elsewhere.
 */
export function shard(jobs: Job[], index: number, count: number): Job[] {
  const order = [...new Set(jobs.map((j) => scenarioOf(j.id)))];
  const mine = new Set(order.filter((_, k) => k % count === index - 1));
  return jobs.filter((j) => mine.has(scenarioOf(j.id)));
}
