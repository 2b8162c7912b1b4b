// Splitting an mbox (as `git format-patch --stdout` or `b4 am` write it) into messages and
// patches. Pure: bytes in, patches out. A patch is bytes: the diff is applied exactly as sent
// (Latin-1 or any other 8-bit content included); only headers are decoded, for display.
import { binary, bytesOf, decodeHeader, decodeTransfer } from './mime.ts';

export interface Patch {
  /** 1-based position in the series as applied. */
  index: number;
  /** Number and total from "[PATCH n/m]", when the subject has them. */
  number?: number;
  total?: number;
  /** Subject without the "[PATCH …]" prefix, decoded for display. */
  subject: string;
  from?: string;
  /** Where it came from: file path, optionally with "#n" for the n-th message of an mbox. */
  source: string;
  /** The whole message (headers and transfer-decoded body): what `git apply` / `git am` consume. */
  bytes: Buffer;
  /** The same as text (UTF-8; bytes that are not UTF-8 show as U+FFFD): for display and search only. */
  text: string;
}

/** One mail of an mbox, with what the series logic needs to know about it. */
export interface Message {
  /** 1-based position in the file. */
  position: number;
  /** Unfolded header values as sent (binary strings), by lower-case name. */
  headers: Map<string, string>;
  /** The "[…]" prefix of the subject, e.g. "PATCH v2 1/3" ("" without one). */
  tag: string;
  subject: string;
  number?: number;
  total?: number;
  /** "v2" → 2; no version in the tag → 1. */
  revision: number;
  /** "Re: …": an answer in a thread, not part of the series. */
  reply: boolean;
  diff: boolean;
  /** Patch 0/n, the cover letter. */
  cover: boolean;
  messageId?: string;
  inReplyTo?: string;
  /** The message with its body transfer-decoded (binary string). */
  bin: string;
}

// git writes "From <40-hex> Mon Sep 17 00:00:00 2001"; b4 writes "From git@z Thu Jan  1 00:00:00 1970";
// any mbox writer puts an address and an asctime date after "From ".
const separator = /^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d+ \d\d:\d\d:\d\d \d{4}\s*$/;

export const isSeparator = (line: string) => separator.test(line);

/** The separator the lab writes when it joins an already ordered series into one file. */
export const labSeparator = 'From iommufd-lab Mon Sep 17 00:00:00 2001';

const asBinary = (mbox: string | Uint8Array) => (typeof mbox === 'string' ? binary(Buffer.from(mbox, 'utf8')) : binary(mbox));

function splitBinary(mbox: string): string[] {
  const messages: string[][] = [];
  for (const line of mbox.split('\n')) {
    if (separator.test(line)) messages.push([]);
    else if (messages.length === 0) {
      if (line.trim() !== '') messages.push([line]); // a single mail without an mbox separator
    } else messages.at(-1)!.push(line);
  }
  return messages.map((m) => m.join('\n'));
}

export function splitMessages(mbox: string | Uint8Array): Buffer[] {
  return splitBinary(asBinary(mbox)).map(bytesOf);
}

/** Header values as sent (unfolded); for a string read as text, for a binary string as bytes. */
export function parseHeaders(message: string): Map<string, string> {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const raw of message.split('\n')) {
    const line = raw.replace(/\r$/, '');
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

/** "[RFC PATCH v3 05/20] x" → tag "RFC PATCH v3 05/20", subject "x"; several "[…]" groups are joined. */
function splitTag(raw: string): { tag: string; rest: string } {
  const tags: string[] = [];
  let rest = raw.trim();
  for (let m = /^\[([^\]]*)\]\s*/.exec(rest); m; m = /^\[([^\]]*)\]\s*/.exec(rest)) {
    tags.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  return { tag: tags.join(' '), rest: rest.trim() };
}

export function parseSubject(raw: string): { subject: string; number?: number; total?: number } {
  const { tag, rest } = splitTag(raw);
  const nm = /(\d+)\/(\d+)/.exec(tag);
  return nm ? { subject: rest, number: Number(nm[1]), total: Number(nm[2]) } : { subject: rest };
}

export function hasDiff(message: string): boolean {
  return /^diff --git /m.test(message) || /^--- (a\/|\S).*\n\+\+\+ /m.test(message);
}

const angle = (v: string | undefined) => /<[^>\s]+>/.exec(v ?? '')?.[0];

/** A message with its body transfer-decoded; the header then says 8bit, as git would. */
function decodeBody(bin: string, headers: Map<string, string>): string {
  const encoding = headers.get('content-transfer-encoding');
  if (!encoding || /^(7bit|8bit|binary)$/i.test(encoding.trim()) || /^multipart\//i.test(headers.get('content-type') ?? '')) return bin;
  const split = /\r?\n\r?\n/.exec(bin);
  if (!split) return bin;
  const head = bin.slice(0, split.index).replace(/^(Content-Transfer-Encoding:)[^\n]*/im, '$1 8bit');
  return `${head}${split[0]}${decodeTransfer(bin.slice(split.index + split[0].length), encoding)}`;
}

export function parseMessages(mbox: string | Uint8Array): Message[] {
  return splitBinary(asBinary(mbox)).map((raw, i) => {
    const headers = parseHeaders(raw);
    const rawSubject = decodeHeader(headers.get('subject') ?? '');
    const reply = /^\s*(re|aw|sv|antw)\s*:/i.test(rawSubject);
    const { tag, rest } = splitTag(rawSubject.replace(/^\s*((re|aw|sv|antw)\s*:\s*)+/i, ''));
    const nm = /(\d+)\/(\d+)/.exec(tag);
    const bin = decodeBody(raw, headers);
    return {
      position: i + 1,
      headers,
      tag,
      subject: rest,
      ...(nm ? { number: Number(nm[1]), total: Number(nm[2]) } : {}),
      revision: Number(/\bv(\d+)\b/i.exec(tag)?.[1] ?? 1),
      reply,
      diff: hasDiff(bin),
      cover: nm !== null && Number(nm[1]) === 0,
      messageId: angle(headers.get('message-id')),
      inReplyTo: angle(headers.get('in-reply-to')),
      bin,
    };
  });
}

export function toPatch(m: Message, index: number, source: string): Patch {
  const bin = m.bin.endsWith('\n') ? m.bin : `${m.bin}\n`;
  const bytes = bytesOf(bin);
  const from = m.headers.get('from');
  return {
    index,
    ...(m.number !== undefined ? { number: m.number, total: m.total } : {}),
    subject: m.subject || `message ${m.position}`,
    from: from === undefined ? undefined : decodeHeader(from),
    source: `${source}#${m.position}`,
    bytes,
    text: bytes.toString('utf8'),
  };
}

/** Patches and cover letters are what a series is made of; anything else is talk. */
export const isPatch = (m: Message) => m.diff && !m.cover;

/**
 * The patches of an mbox in file order. A cover letter (patch 0/n, or a message with no diff)
 * is skipped; an mbox with no patch at all is the caller's error to report. Ordering,
 * revisions and threads are series.ts's business.
 */
export function parseMbox(mbox: string | Uint8Array, source: string): Patch[] {
  return parseMessages(mbox)
    .filter(isPatch)
    .map((m, i) => toPatch(m, i + 1, source));
}

/** Patches joined into one mbox, in the given order, byte for byte (marked as the lab's own). */
export function joinPatches(patches: Pick<Patch, 'bytes'>[]): Buffer {
  return Buffer.concat(patches.flatMap((p) => [Buffer.from(`${labSeparator}\n`), p.bytes, Buffer.from('\n')]));
}

/** "[PATCH 2/3] subject" or "patch 2 (subject)" for error messages. */
export function describePatch(p: Patch): string {
  const n = p.number !== undefined && p.total !== undefined ? `${p.number}/${p.total}` : `#${p.index}`;
  return `patch ${n} "${p.subject}" (${p.source})`;
}
