// The run report for people: one self-contained HTML file (inline CSS, no script, nothing
// fetched) that a kernel reviewer reads instead of the logs. Failed and errored scenarios come
// first, each led by the review concern it encodes. renderHtml is pure; HtmlReporter adds the
// one thing the events lack: the end of a failed scenario's serial log.
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { KernelFinding, RunEvent, RunInfo, ScenarioResult, Status, Summary } from './events.ts';
import { FileReporter, type RunReport } from './file-reporter.ts';
import { describeRunQemu, findingTitle, formatDuration, formatSummary } from './format.ts';
import { Html, html } from './html-escape.ts';
import { formatMs, scenarioHtml, statusBadge } from './html-scenario.ts';
import { readTail } from './html-serial-tail.ts';
import { STYLE } from './html-style.ts';

export interface HtmlOptions {
  /** Path from the HTML file to the run directory, '/'-separated; '' (the default) when it is in it. */
  runDirHref?: string;
  /** Scenario id → the end of its serial log, shown for failed and errored scenarios. */
  serialExcerpts?: ReadonlyMap<string, string>;
}

const SERIAL_EXCERPT_LINES = 60;
const ORDER: Record<Status, number> = { failed: 0, errored: 1, interrupted: 2, skipped: 3, passed: 4 };
const STATUSES = ['passed', 'failed', 'errored', 'skipped', 'interrupted'] as const;

// default-src 'none' makes "nothing fetched, nothing run" a property of the file, should
// anything in the data ever get past the escaping.
const CSP = "default-src 'none'; style-src 'unsafe-inline'";

interface Entry {
  r: ScenarioResult;
  anchor: string;
}

export function renderHtml({ run, summary, results }: RunReport, options: HtmlOptions = {}): string {
  // Array.prototype.sort is stable: within a status, scenarios keep the order they finished in.
  const entries = results
    .map((r, i): Entry => ({ r, anchor: `s${i + 1}-${r.scenario.id.replace(/[^\w.-]+/g, '-')}` }))
    .sort((a, b) => ORDER[a.r.status] - ORDER[b.r.status]);
  const doc = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iommufd-lab ${run.runId}: ${formatSummary(summary, run.total)}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
${headerHtml(run, summary, results.length)}
${overviewHtml(entries)}
${entries.map(({ r, anchor }) => scenarioHtml(r, { anchor, runDirHref: options.runDirHref ?? '', serialExcerpt: options.serialExcerpts?.get(r.scenario.id) }))}
<footer>Written by iommufd-lab ${run.labVersion}. The machine-readable record of this run is report.json in the same run directory (docs/report-schema.md).</footer>
</main>
</body>
</html>
`;
  return doc.value;
}

function headerHtml(run: RunInfo, summary: Summary, finished: number): Html {
  const k = run.kernel;
  const n = k?.patches.length ?? 0;
  const series = k && n
    ? html`<ol>${k.patches.map((p) => html`<li><span class="patch-index">${p.index}/${n}</span> ${p.subject}</li>`)}</ol>`
    : html`<span class="muted">none: the base as it is</span>`;
  return html`<header class="card">
<h1>iommufd-lab run <code>${run.runId}</code></h1>
<dl class="run-meta">
<dt>Kernel</dt><dd>${k ? html`<b>${k.release}</b> <span class="muted">build key <code>${k.key}</code></span>` : html`<span class="muted">none built</span>`}</dd>
${k ? html`<dt>Base</dt><dd><code>${k.base}</code></dd><dt>Series</dt><dd>${series}</dd>` : ''}
<dt>Accelerator</dt><dd>${run.accel}</dd>
${run.qemu ? html`<dt>QEMU</dt><dd>${describeRunQemu(run.qemu)} <span class="muted">${run.qemu.version}</span></dd>` : ''}
<dt>Started</dt><dd><time datetime="${run.startedAt}">${formatStart(run.startedAt)}</time>, took ${formatDuration(summary.ms)}</dd>
<dt>Lab</dt><dd>iommufd-lab ${run.labVersion}</dd>
<dt>Run directory</dt><dd><code>${run.runDir}</code></dd>
</dl>
${finished < run.total || summary.interrupted ? html`<p class="banner"><b>Interrupted:</b> ${finished - summary.interrupted} of ${run.total} scenarios finished; ${summary.interrupted ? `${summary.interrupted} was stopped while it ran, ` : ''}${run.total - finished} never started. Those have no result.</p>` : ''}
<div class="tiles">${STATUSES.map((s) => html`<div class="tile ${s}${summary[s] ? ' nonzero' : ''}"><b>${summary[s]}</b>${s}</div>`)}</div>
</header>`;
}

/** "2025-01-01 12:00:00 UTC": the same for every reader, whatever their time zone. */
function formatStart(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function overviewHtml(entries: readonly Entry[]): Html {
  if (entries.length === 0) return html`<section class="card"><p class="muted">No scenario finished.</p></section>`;
  return html`<section class="card">
<table class="overview"><thead><tr><th>Status</th><th>Scenario</th><th>Machine</th><th class="num">Time</th><th class="num">Observations</th><th>Kernel findings</th><th class="num">Unexpected DMAR</th></tr></thead>
<tbody>${entries.map(({ r, anchor }) => {
    const bad = r.observations.filter((o) => !o.ok).length;
    const obs = r.observations.length === 0 ? '–' : bad ? html`<span class="bad-line">${bad} of ${r.observations.length} failed</span>` : `${r.observations.length} held`;
    const dmar = r.dmar.unexpected.length;
    return html`<tr><td>${statusBadge(r.status)}</td><td><a href="#${anchor}">${r.scenario.id}</a></td><td class="nowrap">${r.scenario.machine}</td><td class="num">${r.status === 'skipped' ? '–' : formatMs(r.ms)}</td><td class="num">${obs}</td><td class="nowrap">${
      r.findings.length ? html`<span class="bad-line">${findingKinds(r.findings)}</span>` : '–'
    }</td><td class="num">${dmar ? html`<span class="bad-line">${dmar}</span>` : '–'}</td></tr>`;
  })}</tbody></table>
</section>`;
}

/** "BUG: … in f; 2× WARNING in g" — each distinct crash title once, in order of first appearance. */
function findingKinds(findings: readonly KernelFinding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(findingTitle(f), (counts.get(findingTitle(f)) ?? 0) + 1);
  return [...counts].map(([title, n]) => (n > 1 ? `${n}× ${title}` : title)).join('; ');
}

/** The run directory as seen from the HTML file, for relative artifact links. */
export function runDirHref(htmlPath: string, runDir: string): string {
  return relative(dirname(htmlPath), runDir).split(sep).join('/');
}

export class HtmlReporter extends FileReporter {
  private readonly excerpts: Map<string, string>;
  private runDir: string | undefined;

  constructor(path: string) {
    const excerpts = new Map<string, string>();
    super('html', path, (report) => renderHtml(report, { runDirHref: runDirHref(path, report.run.runDir), serialExcerpts: excerpts }));
    this.excerpts = excerpts;
  }

  override async onEvent(event: RunEvent): Promise<void> {
    if (event.type === 'run-start') {
      this.excerpts.clear();
      this.runDir = event.run.runDir;
    }
    // Read as each scenario ends, so a run cut short (close() without run-end) has them too.
    if (event.type === 'scenario-end' && this.runDir) await this.keepExcerpt(event.result, this.runDir);
    if (event.type === 'run-end') for (const r of event.results) await this.keepExcerpt(r, event.run.runDir);
    await super.onEvent(event);
  }

  private async keepExcerpt(r: ScenarioResult, runDir: string): Promise<void> {
    const serial = r.artifacts.serial;
    if ((r.status !== 'failed' && r.status !== 'errored' && r.status !== 'interrupted') || r.error?.serialTail || !serial || this.excerpts.has(r.scenario.id)) return;
    const text = await readTail(isAbsolute(serial) ? serial : join(runDir, serial), SERIAL_EXCERPT_LINES);
    if (text) this.excerpts.set(r.scenario.id, text);
  }
}
