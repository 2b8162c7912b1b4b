// HTML building for the run report. Every interpolation is escaped unless it is already Html,
// so a template cannot forget to escape: kernel logs, probe output and scenario text all carry
// '<', '>' and '&', and serial consoles carry control bytes and escape sequences.
import { stripAnsi } from './text.ts';

/** Markup that is already safe: produced by html`` or by escaping. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Fragment = Html | string | number | false | null | undefined | readonly Fragment[];

// Other C0 controls and DEL are shown in caret notation, as `cat -v` does (BEL → ^G, ESC → ^[),
// so a reader sees that the log held one: Unicode's control pictures (␇) are missing from common
// monospace fonts. C1 controls cannot be written as character references either (the HTML parser
// maps &#x80;–&#x9F; to windows-1252), so they are replaced.
const C0 = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const C1 = /[\x80-\x9f]/g;

/** Text as a reader should see it: ANSI colours gone, CRLF and lone CR as newlines, controls visible. */
export function cleanText(text: string): string {
  return stripAnsi(text)
    .replace(/\r\n?/g, '\n')
    .replace(C0, (c) => `^${String.fromCharCode(c.charCodeAt(0) ^ 0x40)}`)
    .replace(C1, '\ufffd');
}

/** Escapes for text and for double- or single-quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return cleanText(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function render(fragment: Fragment): string {
  if (fragment instanceof Html) return fragment.value;
  if (Array.isArray(fragment)) return fragment.map(render).join('');
  if (fragment === false || fragment === null || fragment === undefined) return '';
  return escapeHtml(String(fragment));
}

/** Tagged template: the literal parts are markup, every ${value} is escaped unless it is Html. */
export function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => (out += render(value) + (strings[i + 1] ?? '')));
  return new Html(out);
}

export function join(fragments: readonly Fragment[], separator: Fragment = ''): Html {
  return new Html(fragments.map(render).join(render(separator)));
}

/**
 * A relative link to a run artifact. Each path segment is percent-encoded, so a name with
 * ':' or '#' can neither become a URL scheme (javascript:) nor a fragment.
 */
export function artifactHref(relPath: string, runDirHref = ''): string {
  const path = relPath.split(/[\\/]+/).filter((s) => s !== '' && s !== '.').map(encodeURIComponent).join('/');
  const base = runDirHref.split('/').filter((s) => s !== '' && s !== '.').map((s) => (s === '..' ? s : encodeURIComponent(s))).join('/');
  return base ? `${base}/${path}` : path;
}
