// Splitting an mbox (as `git format-patch --stdout` or `b4 am` write it) into patches.
// Pure: text in, patches out.

export interface Patch {
  /** 1-based position in the series as applied. */
  index: number;
  /** Number and total from "[PATCH n/m]", when the subject has them. */
  number?: number;
  total?: number;
  /** Subject without the "[PATCH …]" prefix. */
  subject: string;
  from?: string;
  /** Where it came from: file path, optionally with "#n" for the n-th message of an mbox. */
  source: string;
  /** The whole message (headers and body): what `git apply` / `git am` consume. */
  text: string;
}

// git writes "From <40-hex> Mon Sep 17 00:00:00 2001"; b4 writes "From git@z Thu Jan  1 00:00:00 1970";
// any mbox writer puts an address and an asctime date after "From ".
const separator = /^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d+ \d\d:\d\d:\d\d \d{4}\s*$/;

export function splitMessages(mbox: string): string[] {
  const lines = mbox.split('\n');
  const messages: string[][] = [];
  for (const line of lines) {
    if (separator.test(line)) messages.push([]);
    else if (messages.length === 0) {
      if (line.trim() !== '') messages.push([line]); // a single mail without an mbox separator
    } else messages.at(-1)!.push(line);
  }
  return messages.map((m) => m.join('\n'));
}

export function parseHeaders(message: string): Map<string, string> {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of message.split('\n')) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) headers.set(last, `${headers.get(last)} ${line.trim()}`);
    else {
      const m = /^([\w-]+):\s*(.*)$/.exec(line);
      if (!m) break; // not a header block (e.g. a bare diff)
      last = m[1]!.toLowerCase();
      headers.set(last, m[2]!);
    }
  }
  return headers;
}

export function parseSubject(raw: string): { subject: string; number?: number; total?: number } {
  const m = /^\s*(?:\[([^\]]*)\]\s*)?(.*)$/s.exec(raw)!;
  const tag = m[1] ?? '';
  const nm = /(\d+)\/(\d+)/.exec(tag);
  return nm ? { subject: m[2]!.trim(), number: Number(nm[1]), total: Number(nm[2]) } : { subject: m[2]!.trim() };
}

export function hasDiff(message: string): boolean {
  return /^diff --git /m.test(message) || /^--- (a\/|\S).*\n\+\+\+ /m.test(message);
}

/**
 * The patches of an mbox in order. A cover letter (patch 0/n, or a message with no diff)
 * is skipped; an mbox with no patch at all is the caller's error to report.
 */
export function parseMbox(mbox: string, source: string): Patch[] {
  const patches: Patch[] = [];
  splitMessages(mbox).forEach((text, i) => {
    if (!hasDiff(text) || /^Subject:.*\b0+\/\d+\]/im.test(text)) return;
    const headers = parseHeaders(text);
    const parsed = parseSubject(headers.get('subject') ?? '');
    patches.push({
      index: patches.length + 1,
      ...parsed,
      subject: parsed.subject || `message ${i + 1}`,
      from: headers.get('from'),
      source: `${source}#${i + 1}`,
      text: text.endsWith('\n') ? text : `${text}\n`,
    });
  });
  return patches;
}

/** "[PATCH 2/3] subject" or "patch 2 (subject)" for error messages. */
export function describePatch(p: Patch): string {
  const n = p.number !== undefined && p.total !== undefined ? `${p.number}/${p.total}` : `#${p.index}`;
  return `patch ${n} "${p.subject}" (${p.source})`;
}
