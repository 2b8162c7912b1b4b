// The kernel rate-limits its DMAR fault messages: dmar_fault() (drivers/iommu/intel/dmar.c)
// shares one ratelimit state, DEFAULT_RATELIMIT_INTERVAL (5 s) and DEFAULT_RATELIMIT_BURST (10),
// between its "DRHD: handling fault status reg" line and every pass of its record loop — one per
// record it prints, and one more for the pass that finds no record left and ends the loop, which
// prints nothing. So a single fault costs 3 of the 10, and a record over the limit is cleared
// without a word (seen here: a guest's 4th fault within 5 s lost its record line). In a guest
// that earlier scenarios used, their messages can use up the window a scenario's own faults fall
// in, and the scenario would see fewer faults than it caused (a missing expected fault, or an
// unexpected one hidden). This module decides, from the guest's timestamped kernel log, whether
// that could have happened, and whether a failure could come from it. Pure.
import type { ScenarioResult } from '../report/events.ts';

/** What lib/ratelimit.c allows dmar_fault(): `burst` calls per window of `intervalS`. */
const limit = { intervalS: 5, burst: 10 } as const;

/**
 * Guest script: dmesg with timestamps, printk.time switched on for the read and back to what it
 * was after, dmesg's exit status kept.
 */
export const timestampedDmesg = 't=/sys/module/printk/parameters/time; o=$(cat $t); echo Y > $t; dmesg; r=$?; echo "$o" > $t; cat /proc/uptime >&2; exit $r';

/** The guest's uptime in seconds from what timestampedDmesg printed on stderr (/proc/uptime), or null. */
export function uptimeSeconds(stderr: string): number | null {
  const m = /^(\d+\.\d+) /m.exec(stderr);
  return m ? Number(m[1]) : null;
}

/**
 * Slack on the window, in seconds: the kernel counts it in jiffies from the first call of the
 * window, the log's timestamps are local_clock at the print. Generous on purpose — a wider window
 * can only make the check say "may have been suppressed" more often.
 */
const slackS = 0.5;

const statusLine = /DMAR: DRHD: handling fault status reg ([0-9a-f]+)/;
const recordLine = /DMAR: \[[^\]]+\] Request device \[/;
/** DMA_FSTS_PPF: a primary fault is pending, and dmar_fault() runs its record loop. */
const ppf = 0x2;
/** lib/ratelimit.c, when a window opens after one that dropped calls. */
const suppressedLine = /dmar_fault: (\d+) callbacks suppressed/;

/** The seconds of a "[   12.345678] …" dmesg line, or null without a timestamp. */
export function logSeconds(line: string): number | null {
  const m = /^\[\s*(\d+\.\d+)\]/.exec(line);
  return m ? Number(m[1]) : null;
}

/**
 * When dmar_fault() took each ratelimit token, from its printed lines: the status line, each
 * record, and (unprinted) the pass that ends the record loop, after the last record of that call.
 */
export function dmarTokenTimes(lines: readonly string[], fallbackS: number): number[] {
  const times: number[] = [];
  let loopEnd: number | null = null;
  const endLoop = () => {
    if (loopEnd !== null) times.push(loopEnd);
    loopEnd = null;
  };
  for (const line of lines) {
    // A line without a timestamp (none should lack one) counts as at the fallback.
    const t = logSeconds(line) ?? fallbackS;
    const status = statusLine.exec(line);
    if (status) {
      endLoop();
      times.push(t);
      if (parseInt(status[1]!, 16) & ppf) loopEnd = t;
    } else if (recordLine.test(line)) {
      times.push(t);
      if (loopEnd !== null) loopEnd = t;
    }
  }
  endLoop();
  return times;
}

/**
 * When dmar_fault() printed a status line with a pending primary fault (PPF) and then no record
 * before its next status line or the end of the log: the record pass ran over the rate limit.
 */
export function dmarStatusesWithoutRecord(lines: readonly string[]): number[] {
  const orphans: number[] = [];
  let open: number | null = null;
  for (const line of lines) {
    const status = statusLine.exec(line);
    if (status) {
      if (open !== null) orphans.push(open);
      open = parseInt(status[1]!, 16) & ppf ? (logSeconds(line) ?? Number.POSITIVE_INFINITY) : null;
    } else if (recordLine.test(line)) open = null;
  }
  if (open !== null) orphans.push(open);
  return orphans;
}

/**
 * Why the DMAR fault messages at or after the line carrying `marker` may be incomplete, or null
 * when none of them can have been rate-limited. `log` is the guest's whole kernel log with
 * timestamps (dmesg with printk.time on).
 *
 * Every window of the ratelimit opens with a call that passes, so a window that dropped a call
 * at time s holds `burst` passed calls, the first at most one interval before s. If no run of
 * `burst` consecutive calls (dmarTokenTimes) fits in one interval (plus slack) and ends its
 * window at or after the marker, lib/ratelimit.c reported no dropped calls after it, and no
 * status line since two windows before it went without its record (dmarStatusesWithoutRecord),
 * nothing after the marker was dropped. The check is conservative: the scenario's own burst
 * counts too.
 */
export function dmarMessagesMayBeSuppressed(log: string, marker: string): string | null {
  const lines = log.split('\n');
  let at = lines.length - 1;
  while (at >= 0 && !lines[at]!.includes(marker)) at--;
  if (at < 0) return 'the scenario\'s marker is not in the kernel log (the log wrapped?), so its DMAR messages cannot be told apart';
  const markerS = logSeconds(lines[at]!);
  if (markerS === null) return 'the kernel log has no timestamps, so the DMAR rate limit cannot be checked';
  for (const line of lines.slice(at + 1)) {
    const m = suppressedLine.exec(line);
    if (m) return `the kernel dropped ${m[1]} DMAR fault message(s) to its rate limit (${limit.burst} per ${limit.intervalS} s) while this scenario ran`;
  }
  const window = limit.intervalS + slackS;
  const times = dmarTokenTimes(lines, markerS);
  for (let i = 0; i + limit.burst <= times.length; i++) {
    const first = times[i]!;
    const last = times[i + limit.burst - 1]!;
    if (last - first <= window && first + window >= markerS) {
      const before = times.filter((t) => t >= first && t < markerS).length;
      return `the kernel's DMAR message rate limit (${limit.burst} per ${limit.intervalS} s) was reached from ${first.toFixed(3)} s, ${before} of its calls before this scenario began at ${markerS.toFixed(3)} s: later fault messages may have been dropped`;
    }
  }
  // Where the model above sees room, a record the kernel dropped is still in plain sight when
  // its status line got through (the 10th token of a window): seen here under load 5.84 s of
  // log time after the window's first call, where the model had the window closed — the guest's
  // jiffies, which time the window, had fallen behind the log's clock. Before the marker, such a
  // window can still be open at its start (two windows back: jiffies lag, not by a whole window).
  const orphan = dmarStatusesWithoutRecord(lines).find((s) => s >= markerS - 2 * window);
  if (orphan !== undefined) {
    return `the kernel printed a DMAR fault status at ${orphan.toFixed(3)} s without its record: it dropped that record to its rate limit (${limit.burst} per ${limit.intervalS} s), and later fault messages may have been dropped too`;
  }
  return null;
}

/**
 * Whether dropped DMAR messages could explain all of a failed verdict: they only remove lines
 * from the kernel log, so only expectations the body recorded after it first read that log can
 * come from them — not an error that ended the body, not a kernel finding, not a failure the lab
 * judged itself (an undeclared fault is a line that was there). `bodyFailures` is how many of
 * the verdict's failures are the body's own (they come first); `beforeFirstRead` how many of
 * those had been recorded when the body first read the log (undefined: it never read it).
 */
export function failureMayComeFromDroppedMessages(verdict: Pick<ScenarioResult, 'status' | 'failures' | 'findings' | 'dmar'>, bodyFailures: number, beforeFirstRead: number | undefined): boolean {
  // A declared fault that never came is a line that is absent, as dropped messages leave it: the
  // one failure the lab judges itself that they can explain (they follow the body's own).
  const missing = verdict.dmar.missing?.length ?? 0;
  const bodyExplained = bodyFailures === 0 || beforeFirstRead === 0;
  return verdict.status === 'failed' && verdict.findings.length === 0 && verdict.failures.length === bodyFailures + missing && bodyExplained;
}

/**
 * How long to wait, in seconds, before a scenario starts in a reused guest at guest time `nowS`,
 * so that earlier scenarios' ratelimit tokens (`tokens`, dmarTokenTimes) leave `reserve` of the
 * burst to its own: at most burst − reserve of them within one window (plus slack) of its start.
 * A wait of a second or two here saves a fresh guest's boot (3-4 s under TCG) when the check
 * above would otherwise distrust the attempt; a scenario that takes more than `reserve` tokens is
 * still caught by that check. The default reserve is one fault (3 tokens) and one to spare.
 */
export function paceSeconds(tokens: readonly number[], nowS: number, reserve = 4): number {
  const window = limit.intervalS + slackS;
  const recent = tokens.filter((t) => t > nowS - window).sort((a, b) => a - b);
  const allowed = Math.max(0, limit.burst - reserve);
  if (recent.length <= allowed) return 0;
  // The newest `allowed` may stay; the one before them must have left the window.
  return Math.max(0, recent[recent.length - allowed - 1]! + window - nowS + 0.05);
}
