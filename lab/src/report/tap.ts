// TAP version 14 for tools that speak TAP (tap-parser, prove, Jenkins TAP plugin). Only the
// scenarios that did not pass carry a YAML diagnostics block: that is where a reader looks.
import { scenarioOf, type ScenarioResult } from './events.ts';
import { FileReporter, type RunReport } from './file-reporter.ts';
import { findingTitle, formatSummary } from './format.ts';
import { oneLine, stripAnsi } from './text.ts';
import { toYaml, type YamlValue } from './yaml.ts';

/** TAP 14 reserves '#' (directive) and '\' (escape) in descriptions; a newline would end the line. */
export function tapEscape(text: string): string {
  return oneLine(text).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

/**
 * The plan is what the run meant to do (run.total), not what finished: a run cut short by
 * Ctrl-C or SIGTERM has one "not ok" per scenario that never started, so a TAP consumer counts
 * them as not passed instead of seeing a shorter, all-green plan.
 */
export function renderTap({ run, summary, results, guestLogs = [] }: RunReport): string {
  const planned = Math.max(run.total, results.length);
  // A finding outside every scenario is a test point of its own after them: the run did not pass.
  // So is a scenario skipped on every machine: its skips are "ok", its contract was not checked.
  const unjudged = summary.notJudged ?? [];
  const out = ['TAP version 14', `1..${planned + guestLogs.length + unjudged.length}`];
  results.forEach((r, i) => out.push(...testPoint(r, i + 1)));
  for (let n = results.length + 1; n <= planned; n++) {
    out.push(`not ok ${n} - not run`, '  ---', ...toYaml({ status: 'not-run', message: 'the run was interrupted before this scenario started' }, 2), '  ...');
  }
  guestLogs.forEach((g, i) => {
    const d = { status: 'failed', findings: g.findings.map((k) => ({ kind: k.kind, title: findingTitle(k), line: k.line })), unexpected_dmar: g.dmar.map((f) => ({ ...f })), log: g.log };
    out.push(`not ok ${planned + i + 1} - kernel log ${tapEscape(g.where)}`, '  ---', ...toYaml(d, 2), '  ...');
  });
  unjudged.forEach((id, i) => {
    const reasons = results.filter((r) => scenarioOf(r.scenario.id) === id).map((r) => `${r.scenario.id}: ${oneLine(r.skipReason ?? 'no reason given')}`);
    out.push(`not ok ${planned + guestLogs.length + i + 1} - not judged: ${tapEscape(id)}`, '  ---', ...toYaml({ status: 'not-judged', message: 'skipped on every machine the run gave it: its contract was not checked', skips: reasons }, 2), '  ...');
  });
  out.push(`# ${formatSummary(summary, run.total)}`);
  return `${out.join('\n')}\n`;
}

function testPoint(r: ScenarioResult, n: number): string[] {
  const description = tapEscape(r.scenario.id);
  switch (r.status) {
    case 'passed':
      return [`ok ${n} - ${description}`];
    case 'skipped':
      return [`ok ${n} - ${description} # SKIP${r.skipReason ? ` ${tapEscape(r.skipReason)}` : ''}`];
    case 'failed':
    case 'errored':
    case 'interrupted':
      // The block is indented two spaces under its test point, as TAP 14 requires.
      return [`not ok ${n} - ${description}`, '  ---', ...toYaml(diagnostics(r), 2), '  ...'];
  }
}

function diagnostics(r: ScenarioResult): { [key: string]: YamlValue } {
  const d: { [key: string]: YamlValue } = { status: r.status, duration_ms: r.ms, file: r.scenario.file };
  if (r.failures.length) d.failures = r.failures;
  const missed = r.observations.filter((o) => !o.ok);
  if (missed.length) d.observations = missed.map((o) => ({ op: o.op, expected: o.expected, observed: o.observed }));
  if (r.error) {
    const error: { [key: string]: YamlValue } = { phase: r.error.phase, message: r.error.message };
    if (r.error.serialTail) error.serial_tail = consoleText(r.error.serialTail);
    d.error = error;
  } else if (r.status === 'interrupted') {
    d.message = 'the run was stopped while this scenario ran; it has no verdict';
  } else if (r.status === 'errored') {
    d.error = { phase: 'unknown', message: 'errored without a recorded error' };
  }
  if (r.dmar.unexpected.length) d.unexpected_dmar = r.dmar.unexpected.map((f) => ({ ...f }));
  if (r.findings.length) d.findings = r.findings.map((k) => ({ kind: k.kind, title: findingTitle(k), line: k.line }));
  return d;
}

// Consoles end lines with CRLF, colour them and emit stray control bytes; without those the
// tail can be a readable literal block instead of one long escaped string.
function consoleText(text: string): string {
  return stripAnsi(text)
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .replace(/\s+$/, '');
}

export class TapReporter extends FileReporter {
  constructor(path: string) {
    super('tap', path, renderTap);
  }
}
