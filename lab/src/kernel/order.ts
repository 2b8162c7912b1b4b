// What an mbox holds: one series (applied in [n/m] order), or a thread (replies, discussion,
// more than one revision with answers) that b4 must turn into a series first. Pure.
import { UsageError } from '../util/errors.ts';
import { isPatch, toPatch, type Message, type Patch } from './mbox.ts';

export type MboxPlan = { kind: 'series'; patches: Patch[] } | { kind: 'thread'; reason: string; root?: string };

const quote = (m: Message) => `#${m.position} "${m.reply ? 'Re: ' : ''}${m.tag ? `[${m.tag}] ` : ''}${m.subject}"`;
const nOfM = (m: Message) => `${m.number}/${m.total}`;

/** Why this set of messages is a thread rather than a series, or undefined. */
export function threadReason(messages: Message[]): string | undefined {
  const reply = messages.find((m) => m.reply);
  if (reply) return `message ${quote(reply)} is a reply`;
  const numbered = messages.some((m) => m.number !== undefined);
  const strays = messages.filter((m) => (numbered ? m.number === undefined : !m.diff));
  // One stray mail without a diff (a cover letter without "0/n") is tolerated, as ever.
  if (strays.length > 1 || (numbered && strays.some((m) => m.diff))) {
    return `${strays.length} message(s) are not a [PATCH n/m] of the series (${strays.slice(0, 3).map(quote).join(', ')})`;
  }
  return undefined;
}

/** The thread's first message: the one that answers nothing in the file. */
export function threadRoot(messages: Message[]): string | undefined {
  const ids = new Set(messages.map((m) => m.messageId).filter(Boolean));
  return messages.find((m) => m.messageId && !(m.inReplyTo && ids.has(m.inReplyTo)))?.messageId;
}

/**
 * The series in an mbox: patches in [n/m] order. `asWritten` keeps the file's order and skips
 * every check (the lab's own joins of an ordered series, see joinPatches).
 */
export function planMbox(messages: Message[], source: string, asWritten = false): MboxPlan {
  if (asWritten) return { kind: 'series', patches: messages.filter(isPatch).map((m, i) => toPatch(m, i + 1, source)) };
  const reason = threadReason(messages);
  if (reason) return { kind: 'thread', reason, root: threadRoot(messages) };
  const numbered = messages.filter((m) => m.number !== undefined);
  const revisions = [...new Set(numbered.map((m) => m.revision))].sort((a, b) => a - b);
  if (revisions.length > 1) {
    const list = revisions.map((r) => `v${r} (${numbered.filter((m) => m.revision === r).map(nOfM).join(', ')})`);
    throw new UsageError(`series ${source} holds ${revisions.length} revisions of the series: ${list.join(' and ')}`, {
      hint: `keep one revision in the file (\`b4 am -v ${revisions.at(-1)}\` picks one from a thread), or pass each as its own run`,
    });
  }
  const patches = messages.filter(isPatch);
  if (numbered.length === 0) return { kind: 'series', patches: patches.map((m, i) => toPatch(m, i + 1, source)) };
  const totals = [...new Set(patches.map((m) => m.total))];
  if (totals.length > 1) {
    throw new UsageError(`series ${source} mixes series of different lengths (${totals.map((t) => `n/${t}`).join(', ')})`, {
      hint: 'pass each series as its own --series, in the order they apply',
    });
  }
  const total = totals[0] ?? 0;
  for (let n = 1; n <= total; n++) {
    const same = patches.filter((m) => m.number === n);
    if (same.length > 1) throw new UsageError(`series ${source} has patch ${n}/${total} twice: ${same.map(quote).join(' and ')}`);
    if (same.length === 0) {
      throw new UsageError(`series ${source} lacks patch ${n}/${total}: the series as sent has ${total} patches, the file ${patches.length}`, {
        hint: 'fetch the whole series (e.g. `b4 am MSGID`), or pass the patches as a folder if they are not one numbered series',
      });
    }
  }
  if (patches.length > total) throw new UsageError(`series ${source} has ${patches.length} patches numbered n/${total}`);
  const ordered = [...patches].sort((a, b) => a.number! - b.number!);
  return { kind: 'series', patches: ordered.map((m, i) => toPatch(m, i + 1, source)) };
}
