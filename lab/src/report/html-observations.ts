// The observations table. A sweep scenario records hundreds of syscalls (S1 makes 532), so a
// big table leads with the rows that did not hold, groups them by what went wrong, and folds
// the rest; a small one stays whole, in the order the probe made the calls.
import type { Observation } from './events.ts';
import { html, type Html } from './html-escape.ts';

/** Up to this many rows a table is shown whole. */
const SMALL_TABLE = 25;
/** At most this many rows that did not hold are shown before the remainder is folded… */
const OPEN_ROWS = 40;
/** …and at most this many of each kind, so one sweep of ENOTTYs cannot hide a rarer ok or KILLED. */
const ROWS_PER_PATTERN = 5;
const MAX_PATTERNS = 8;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function observationsHtml(observations: readonly Observation[]): Html {
  if (observations.length === 0) return html`<p class="muted">No observations recorded.</p>`;
  const bad = observations.filter((o) => !o.ok);
  const good = observations.filter((o) => o.ok);
  const head = bad.length
    ? html`<p><span class="bad-line">${bad.length} of ${plural(observations.length, 'observation')} did not hold</span>; ${good.length} held.</p>`
    : html`<p class="ok-line">${observations.length === 1 ? 'The observation held.' : `All ${observations.length} observations held.`}</p>`;
  if (observations.length <= SMALL_TABLE) return html`${head}${table(observations)}`;
  const { shown, folded } = leadingRows(bad);
  return html`${head}${patterns(bad)}${shown.length ? table(shown) : ''}${
    folded.length ? fold(`${folded.length} more that did not hold`, table(folded)) : ''
  }${good.length ? fold(`${plural(good.length, 'observation')} that held`, table(good)) : ''}`;
}

const pattern = (o: Observation) => `expected ${o.expected} → ${o.observed}`;

/** The first few rows of each kind of failure, in probe order; the rest, also in order. */
function leadingRows(bad: readonly Observation[]): { shown: Observation[]; folded: Observation[] } {
  if (bad.length <= OPEN_ROWS) return { shown: [...bad], folded: [] };
  const seen = new Map<string, number>();
  const shown: Observation[] = [];
  const folded: Observation[] = [];
  for (const o of bad) {
    const n = seen.get(pattern(o)) ?? 0;
    seen.set(pattern(o), n + 1);
    (n < ROWS_PER_PATTERN && shown.length < OPEN_ROWS ? shown : folded).push(o);
  }
  return { shown, folded };
}

// "expected EINVAL → ENOTTY ×490": what most of a long list of failures has in common.
function patterns(bad: readonly Observation[]): Html | '' {
  const counts = new Map<string, number>();
  for (const o of bad) counts.set(pattern(o), (counts.get(pattern(o)) ?? 0) + 1);
  if (bad.length < 2) return '';
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_PATTERNS);
  return html`<div class="patterns">${top.map(([key, n]) => html`<span class="pattern">${key} ×${n}</span>`)}</div>`;
}

function table(rows: readonly Observation[]): Html {
  return html`<table class="observations"><thead><tr><th class="wide">Operation</th><th>Expected</th><th>Observed</th><th>OK</th></tr></thead><tbody>${rows.map(
    (o) =>
      html`<tr class="${o.ok ? 'good' : 'bad'}"><td class="mono">${o.op}</td><td class="mono">${o.expected}</td><td class="mono observed">${o.observed}</td><td class="mark">${o.ok ? '✓' : '✗'}</td></tr>`,
  )}</tbody></table>`;
}

function fold(summary: string, body: Html): Html {
  return html`<details><summary>${summary}</summary>${body}</details>`;
}
