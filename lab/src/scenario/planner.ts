// Planning a run: which scenarios, on which kernel flavour and machine, in which order. Pure.
import type { LoadedScenario } from './loader.ts';

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
  // "name@variant" selects that instance only.
  const instance = (id: string) => options.patterns.length === 0 || options.patterns.some((p) => !p.includes('@') || id.endsWith(p.slice(p.indexOf('@'))));
  const jobs = chosen.flatMap((s) => {
    const flavour = s.scenario.options.flavour;
    if (options.machine) return [{ id: s.id, scenario: s, machine: options.machine, flavour }];
    const machines = s.scenario.options.machines ?? [s.scenario.options.machine];
    return machines.map((machine, i) => ({ id: i === 0 ? s.id : `${s.id}@${machine}`, scenario: s, machine, flavour }));
  });
  const wanted = jobs.filter((j) => instance(j.id));
  // Grouped by kernel flavour, then machine, so one kernel build serves a block of jobs.
  return wanted.sort((a, b) => a.flavour.localeCompare(b.flavour) || a.machine.localeCompare(b.machine) || a.id.localeCompare(b.id));
}

export function groupByKernel(jobs: Job[]): Map<string, Job[]> {
  const groups = new Map<string, Job[]>();
  for (const job of jobs) groups.set(job.flavour, [...(groups.get(job.flavour) ?? []), job]);
  return groups;
}
