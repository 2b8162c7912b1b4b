// One scenario's section of the HTML report: what it checks (the review concern), what went
// wrong, and the evidence — steps, observations, DMAR faults, kernel findings, the serial
// console and links to the artifacts in the run directory.
import type { DmarFault, KernelFinding, ScenarioResult, StepResult } from './events.ts';
import { findingTitle, formatDuration } from './format.ts';
import { artifactHref, Html, html, join } from './html-escape.ts';
import { observationsHtml } from './html-observations.ts';

export interface ScenarioHtmlOptions {
  /** The section's id, for the overview's links. */
  anchor: string;
  /** Path from the HTML file to the run directory ('' when the file is in it). */
  runDirHref: string;
  /** The end of the serial log, for a failed scenario whose error carries none. */
  serialExcerpt?: string;
}

/** Step messages longer than this many lines are folded after the first ones. */
const STEP_MESSAGE_LINES = 3;
const OPEN_FAILURES = 15;

export const formatMs = (ms: number): string => (ms < 1000 ? `${ms} ms` : formatDuration(ms));

export function statusBadge(status: string): Html {
  return html`<span class="badge ${status}">${status}</span>`;
}

export function scenarioHtml(r: ScenarioResult, o: ScenarioHtmlOptions): Html {
  const s = r.scenario;
  const ran = r.status !== 'skipped';
  // An errored scenario never reached the verdict: no DMAR or kernel-log scan ran, so "none"
  // would claim a clean kernel that nobody checked.
  const judged = r.status === 'passed' || r.status === 'failed';
  return html`<section class="card scenario ${r.status}" id="${o.anchor}">
<header>${statusBadge(r.status)}<h2>${s.id}</h2></header>
<div class="facts">
${ran ? html`<span>duration <b>${formatMs(r.ms)}</b>${phasesHtml(r)}</span>` : ''}
<span>machine <b>${s.machine}</b>${s.flavour ? html` / <b>${s.flavour}</b>` : ''}</span>
<span>devices <b>${s.devices.length ? s.devices.join(', ') : 'none'}</b></span>
${s.tags.length ? html`<span>tags ${s.tags.map((t) => html`<span class="tag">${t}</span>`)}</span>` : ''}
<span class="mono">${s.file}</span>
</div>
<blockquote class="concern"><p>${s.concern.text}</p><cite>${refHtml(s.concern.ref)}</cite></blockquote>
${problemHtml(r)}
${(r.notes ?? []).map((n) => html`<p class="note">${n}</p>`)}
${ran && r.steps.length ? html`<h3>Steps</h3>${stepsHtml(r.steps)}` : ''}
${ran && (judged || r.observations.length) ? html`<h3>Observations</h3>${observationsHtml(r.observations)}` : ''}
${judged || hasFaults(r) ? html`<h3>DMAR faults</h3>${dmarHtml(r.dmar)}` : ''}
${judged || r.findings.length ? html`<h3>Kernel findings</h3>${findingsHtml(r.findings)}` : ''}
${serialHtml(r, o.serialExcerpt)}
${artifactsHtml(r.artifacts, o.runDirHref)}
</section>`;
}

// Where the time went: "boot 2.9 s · setup 0.3 s · scenario 1.2 s · verdict 0.4 s" (no boot in a reused guest).
function phasesHtml(r: ScenarioResult): Html | '' {
  if (!r.phases?.length) return '';
  return html` <span class="phases">(${r.phases.map((p, i) => html`${i ? ' · ' : ''}${p.phase} ${formatMs(p.ms)}`)}${r.phases[0]!.phase === 'boot' ? '' : ', guest reused'})</span>`;
}

// A URL links; a bare message-id links to lore, where kernel review threads live.
function refHtml(ref: string): Html {
  if (/^https?:\/\/\S+$/.test(ref)) return html`<a href="${ref}">${ref}</a>`;
  const msgid = /^<?([^\s<>@/]+@[^\s<>@/]+)>?$/.exec(ref)?.[1];
  if (msgid) return html`<a href="https://lore.kernel.org/r/${encodeURIComponent(msgid).replace(/%40/g, '@')}">${ref}</a>`;
  return html`${ref}`;
}

function problemHtml(r: ScenarioResult): Html | '' {
  const parts: Html[] = [];
  if (r.error) parts.push(html`<div class="problem"><b>${r.status === 'errored' ? 'Errored' : 'Stopped'} during ${r.error.phase}</b><pre>${r.error.message.trimEnd()}</pre></div>`);
  if (r.status === 'errored' && !r.error) parts.push(html`<div class="problem"><b>Errored without a recorded error.</b></div>`);
  if (r.status === 'interrupted' && !r.error) parts.push(html`<div class="problem"><b>Interrupted:</b> the run was stopped while this scenario ran; it has no verdict.</div>`);
  if (r.skipReason) parts.push(html`<div class="problem skipped"><b>Skipped:</b> ${r.skipReason}</div>`);
  const failures = failuresOutsideTable(r);
  if (failures.length) {
    const list = (items: string[]) => html`<ul>${items.map((f) => html`<li class="mono">${f}</li>`)}</ul>`;
    const rest = failures.slice(OPEN_FAILURES);
    parts.push(html`<div class="problem failed"><b>Did not hold</b>${list(failures.slice(0, OPEN_FAILURES))}${
      rest.length ? html`<details><summary>${rest.length} more</summary>${list(rest)}</details>` : ''
    }</div>`);
  }
  return join(parts);
}

// expect.errno() and expect.outcome() word a failed observation "<op>: expected X, got Y"; those
// are rows of the observations table already. Should that wording change, they merely show twice.
function failuresOutsideTable(r: ScenarioResult): string[] {
  const inTable = new Set(r.observations.filter((o) => !o.ok).map((o) => `${o.op}: expected ${o.expected}, got ${o.observed}`));
  return r.failures.filter((f) => !inTable.has(f));
}

function stepsHtml(steps: readonly StepResult[]): Html {
  return html`<table class="steps"><thead><tr><th class="num">#</th><th class="wide">Step</th><th>Status</th><th class="num">Time</th></tr></thead><tbody>${steps.map(
    (st, i) => html`<tr><td class="num muted">${i + 1}</td><td>${st.title}${st.message ? stepMessage(st.message) : ''}</td><td>${statusBadge(st.status)}</td><td class="num">${formatMs(st.ms)}</td></tr>`,
  )}</tbody></table>`;
}

function stepMessage(message: string): Html {
  const lines = message.trimEnd().split(/\r?\n/);
  const head = html`<pre class="step-msg">${lines.slice(0, STEP_MESSAGE_LINES).join('\n')}</pre>`;
  if (lines.length <= STEP_MESSAGE_LINES) return head;
  return html`${head}<details><summary>${lines.length - STEP_MESSAGE_LINES} more lines</summary><pre class="step-msg">${lines.slice(STEP_MESSAGE_LINES).join('\n')}</pre></details>`;
}

const hasFaults = (r: ScenarioResult) => r.dmar.expected.length + r.dmar.observed.length + r.dmar.unexpected.length > 0;

function dmarHtml(d: ScenarioResult['dmar']): Html {
  const rows: [string, DmarFault][] = [
    ...d.expected.map((f): [string, DmarFault] => ['expected', f]),
    ...d.observed.map((f): [string, DmarFault] => ['observed', f]),
    ...d.unexpected.map((f): [string, DmarFault] => ['unexpected', f]),
  ];
  if (rows.length === 0) return html`<p class="muted">None expected, none observed.</p>`;
  const verdict = d.unexpected.length ? html`<span class="bad-line">${d.unexpected.length} unexpected</span>` : html`<span class="ok-line">none unexpected</span>`;
  return html`<p>${d.expected.length} expected (declared by the scenario), ${d.observed.length} observed, ${verdict}.</p>
<table class="dmar"><thead><tr><th></th><th>Device</th><th>Access</th><th>Address</th><th>Reason</th></tr></thead><tbody>${rows.map(
    ([kind, f]) =>
      html`<tr class="${kind === 'unexpected' ? 'bad' : ''}"><td>${kind}</td><td class="mono">${f.device}</td><td>${f.access}</td><td class="mono">${f.address}</td><td class="mono">${f.reason}</td></tr>`,
  )}</tbody></table>`;
}

function findingsHtml(findings: readonly KernelFinding[]): Html {
  if (findings.length === 0) return html`<p class="ok-line">None: no oops, WARN, BUG, KASAN, lockdep, stall or panic in the kernel log.</p>`;
  // The first finding is usually the cause and the rest its aftermath: only the first is open.
  return join(
    findings.map(
      (k, i) =>
        html`<details class="finding"${i === 0 ? html` open` : ''}><summary><span class="badge kind">${k.kind}</span> <b>${findingTitle(k)}</b> <code>${k.line}</code></summary><pre>${k.excerpt.trimEnd()}</pre></details>`,
    ),
  );
}

function serialHtml(r: ScenarioResult, excerpt: string | undefined): Html | '' {
  if (r.status !== 'failed' && r.status !== 'errored' && r.status !== 'interrupted') return '';
  const text = (r.error?.serialTail || excerpt || '').trimEnd();
  if (text) {
    const lines = text.split(/\r\n|\r|\n/).length;
    return html`<h3>Serial console, last ${lines} lines</h3><pre class="serial">${text}</pre>`;
  }
  if (r.error?.serialTail === '') return html`<h3>Serial console</h3><p class="muted">The guest printed nothing on the serial console.</p>`;
  return '';
}

function artifactsHtml(artifacts: Record<string, string>, runDirHref: string): Html | '' {
  const entries = Object.entries(artifacts);
  if (entries.length === 0) return '';
  // Values are paths relative to the run directory, except notes such as "kept" (a sentence).
  const links = entries.filter(([, v]) => !/\s/.test(v));
  const notes = entries.filter(([, v]) => /\s/.test(v));
  return html`<h3>Artifacts</h3><p class="artifacts">${links.map(
    ([name, rel]) => html`<a href="${artifactHref(rel, runDirHref)}" title="${name}: ${rel}">${rel.split(/[\\/]/).pop()}</a>`,
  )}</p>${notes.map(([name, note]) => html`<p><b>${name}:</b> ${note}</p>`)}`;
}
