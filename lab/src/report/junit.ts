// JUnit XML for CI systems (GitLab, Jenkins, GitHub test-report actions). One <testsuite> per
// scenario area. As in Playwright's reporter, an expectation that did not hold is a
// <failure> (the kernel's fault) and a lab problem is an <error> typed by its phase.
import { join } from 'node:path';
import { scenarioOf, type GuestLogFinding, type RunInfo, type ScenarioResult } from './events.ts';
import { FileReporter, type RunReport } from './file-reporter.ts';
import { describeFault, findingTitle, guestLogLines } from './format.ts';
import { oneLine } from './text.ts';
import { xmlAttrs, xmlText } from './xml.ts';

const seconds = (ms: number) => (ms / 1000).toFixed(3);

interface Totals {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

// An interrupted scenario has no verdict and is nobody's expectation failing: it is an error
// (typed "interrupted"), so CI shows the run as not passed.
function totals(results: ScenarioResult[], notRun = 0): Totals {
  const n = (s: ScenarioResult['status']) => results.filter((r) => r.status === s).length;
  return { tests: results.length + notRun, failures: n('failed'), errors: n('errored') + n('interrupted') + notRun, skipped: n('skipped') };
}

/** Areas in order of first appearance, so the XML follows the run. */
function byArea(results: ScenarioResult[]): Map<string, ScenarioResult[]> {
  const areas = new Map<string, ScenarioResult[]>();
  for (const r of results) areas.set(r.scenario.area, [...(areas.get(r.scenario.area) ?? []), r]);
  return areas;
}

export function renderJunit({ run, summary, results, guestLogs = [] }: RunReport): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  // Totals are counted from the results written below, so they always agree with the body.
  // Scenarios of the plan that never started (the run was interrupted) are counted too, in a
  // suite of their own: the events name only what started, so they are numbered, not named.
  const notRun = Math.max(0, run.total - results.length);
  const t = totals(results, notRun);
  const unjudged = summary.notJudged ?? [];
  out.push(`<testsuites${xmlAttrs({ name: 'iommufd-lab', ...t, tests: t.tests + guestLogs.length + unjudged.length, failures: t.failures + guestLogs.length, errors: t.errors + unjudged.length, time: seconds(summary.ms), timestamp: run.startedAt })}>`);
  for (const [area, rs] of byArea(results)) out.push(...suite(area, rs, run));
  if (notRun) out.push(...notRunSuite(results.length, notRun, run));
  if (guestLogs.length) out.push(...outsideSuite(guestLogs, run));
  if (unjudged.length) out.push(...notJudgedSuite(unjudged, results, run));
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

function suite(area: string, results: ScenarioResult[], run: RunInfo): string[] {
  const ms = results.reduce((sum, r) => sum + r.ms, 0);
  return [
    `  <testsuite${xmlAttrs({ name: area, ...totals(results), time: seconds(ms), timestamp: run.startedAt })}>`,
    ...properties(run),
    ...results.flatMap((r) => testcase(r, run.runDir)),
    '  </testsuite>',
  ];
}

function notRunSuite(finished: number, notRun: number, run: RunInfo): string[] {
  const cases = Array.from({ length: notRun }, (_, i) => {
    const attrs = xmlAttrs({ classname: 'not-run', name: `not run ${finished + i + 1} of ${run.total}`, time: seconds(0) });
    const message = 'the run was interrupted before this scenario started';
    return `    <testcase${attrs}>\n      <error${xmlAttrs({ message, type: 'not-run' })}/>\n    </testcase>`;
  });
  return [`  <testsuite${xmlAttrs({ name: 'not-run', tests: notRun, failures: 0, errors: notRun, skipped: 0, time: seconds(0), timestamp: run.startedAt })}>`, ...cases, '  </testsuite>'];
}

/** Findings in the kernel log outside every scenario: one failed case each, named by where. */
function outsideSuite(guestLogs: GuestLogFinding[], run: RunInfo): string[] {
  const cases = guestLogs.map((g) => {
    const attrs = xmlAttrs({ classname: 'kernel-log', name: `kernel log ${g.where}`, time: seconds(0) });
    const first = g.findings[0] ? findingTitle(g.findings[0]) : `unexpected DMAR fault: ${describeFault(g.dmar[0]!)}`;
    const body = guestLogLines(g, run.runDir).join('\n');
    return `    <testcase${attrs}>\n      <failure${xmlAttrs({ message: oneLine(first), type: 'kernel-log' })}>${xmlText(body)}</failure>\n    </testcase>`;
  });
  return [`  <testsuite${xmlAttrs({ name: 'kernel-log', tests: guestLogs.length, failures: guestLogs.length, errors: 0, skipped: 0, time: seconds(0), timestamp: run.startedAt })}>`, ...cases, '  </testsuite>'];
}

/** Scenarios skipped on every machine: one error each (the contract was not checked), with each skip's reason. */
function notJudgedSuite(ids: string[], results: ScenarioResult[], run: RunInfo): string[] {
  const cases = ids.map((id) => {
    const attrs = xmlAttrs({ classname: 'not-judged', name: `not judged: ${id}`, time: seconds(0) });
    const body = results.filter((r) => scenarioOf(r.scenario.id) === id).map((r) => `${r.scenario.id}: ${r.skipReason ?? 'no reason given'}`).join('\n');
    return `    <testcase${attrs}>\n      <error${xmlAttrs({ message: 'skipped on every machine the run gave it: its contract was not checked', type: 'not-judged' })}>${xmlText(body)}</error>\n    </testcase>`;
  });
  return [`  <testsuite${xmlAttrs({ name: 'not-judged', tests: ids.length, failures: 0, errors: ids.length, skipped: 0, time: seconds(0), timestamp: run.startedAt })}>`, ...cases, '  </testsuite>'];
}

function properties(run: RunInfo): string[] {
  const props: Record<string, string | undefined> = {
    'lab.run': run.runId,
    'lab.version': run.labVersion,
    'kernel.release': run.kernel?.release,
    'kernel.base': run.kernel?.base,
    'kernel.key': run.kernel?.key,
    accel: run.accel,
    qemu: run.qemu?.version,
  };
  const lines = Object.entries(props)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => `      <property${xmlAttrs({ name, value })}/>`);
  return ['    <properties>', ...lines, '    </properties>'];
}

function testcase(r: ScenarioResult, runDir: string): string[] {
  const attrs = xmlAttrs({ classname: r.scenario.area, name: r.scenario.id, time: seconds(r.ms), file: r.scenario.file });
  const body = [...outcome(r), ...systemOut(r, runDir)];
  if (body.length === 0) return [`    <testcase${attrs}/>`];
  return [`    <testcase${attrs}>`, ...body, '    </testcase>'];
}

// Bodies start right after the tag (no indentation) so the text reads as it was written.
function outcome(r: ScenarioResult): string[] {
  switch (r.status) {
    case 'passed':
      return [];
    case 'skipped':
      return [`      <skipped${xmlAttrs({ message: r.skipReason })}/>`];
    case 'failed': {
      const [first, ...more] = failureLines(r);
      const message = `${oneLine(first ?? 'an expectation did not hold')}${more.length ? ` (+${more.length} more)` : ''}`;
      return [`      <failure${xmlAttrs({ message, type: 'expectation' })}>${xmlText(failureBody(r))}</failure>`];
    }
    case 'errored': {
      const e = r.error ?? { phase: 'unknown', message: 'errored without a recorded error' };
      const body = [`${e.phase}: ${e.message}`, ...kernelLines(r)];
      if (e.serialTail) body.push('', 'serial console (tail):', e.serialTail.replace(/\s+$/, ''));
      return [`      <error${xmlAttrs({ message: oneLine(e.message), type: e.phase })}>${xmlText(body.join('\n'))}</error>`];
    }
    case 'interrupted': {
      const message = r.error?.message ?? 'the run was stopped while this scenario ran; it has no verdict';
      return [`      <error${xmlAttrs({ message: oneLine(message), type: 'interrupted' })}>${xmlText([message, ...kernelLines(r)].join('\n'))}</error>`];
    }
  }
}

function failureLines(r: ScenarioResult): string[] {
  const observations = r.observations.filter((o) => !o.ok).map((o) => `${o.op}: expected ${o.expected}, observed ${o.observed}`);
  return [...r.failures, ...observations];
}

function failureBody(r: ScenarioResult): string {
  const sections: string[] = [];
  if (r.failures.length) sections.push('expectations that did not hold:', ...r.failures.map((f) => `  - ${f}`));
  const missed = r.observations.filter((o) => !o.ok);
  if (missed.length) sections.push('observations that did not hold:', ...missed.map((o) => `  - ${o.op}: expected ${o.expected}, observed ${o.observed}`));
  sections.push(...kernelLines(r));
  return sections.join('\n');
}

function kernelLines(r: ScenarioResult): string[] {
  const lines: string[] = [];
  if (r.dmar.unexpected.length) lines.push('unexpected DMAR faults:', ...r.dmar.unexpected.map((d) => `  - ${describeFault(d)}`));
  if (r.findings.length) lines.push('kernel findings:', ...r.findings.map((k) => `  - ${findingTitle(k)}\n    ${k.line}`));
  return lines;
}

// The concern says why the scenario exists; artifacts are absolute so CI plugins can attach them.
function systemOut(r: ScenarioResult, runDir: string): string[] {
  if (r.status === 'skipped') return [];
  const lines = [`concern: ${r.scenario.concern.text} (${r.scenario.concern.ref})`];
  if (r.steps.length) lines.push('steps:', ...r.steps.map((s) => `  ${s.status} ${s.title} (${s.ms} ms)${s.message ? `: ${s.message}` : ''}`));
  const artifacts = Object.entries(r.artifacts);
  if (artifacts.length) lines.push('artifacts:', ...artifacts.map(([name, rel]) => `  ${name}: ${join(runDir, rel)}`));
  return [`      <system-out>${xmlText(lines.join('\n'))}</system-out>`];
}

export class JunitReporter extends FileReporter {
  constructor(path: string) {
    super('junit', path, renderJunit);
  }
}
