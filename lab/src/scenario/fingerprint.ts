// Crash fingerprints: one normalised title per kernel report, the way syzkaller and NIPA name
// crashes — the kind of report plus the function it happened in, with addresses, offsets, PIDs,
// CPU numbers and timestamps stripped — so the same crash compares equal across scenarios, runs
// and kernels (baseline vs tip). Pure.

/** The function of a "RIP: 0010:func+0x3c/0x1a0" or "at file:line func+0x40/0x50" frame. */
function frameFunction(text: string): string | undefined {
  const m = /(?:RIP: [0-9a-f]{4}:|\bat [^\s]+:\d+ |^\s*|\s)([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(text);
  return m?.[1];
}

/** First "RIP:" frame among the report's lines (the faulting function). */
function ripFunction(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    if (/\bRIP: [0-9a-f]{4}:/.test(line)) {
      const fn = frameFunction(line);
      if (fn) return fn;
    }
  }
  return undefined;
}

const volatile: [RegExp, string][] = [
  [/\b0x[0-9a-f]+\b/gi, 'ADDR'],
  [/\b[0-9a-f]{8,16}\b/gi, 'ADDR'],
  [/\bPID: \d+/g, 'PID: N'],
  [/\bCPU: \d+/g, 'CPU: N'],
  [/\[#\d+\]/g, ''],
  [/:\d+\b/g, ''],
  [/\s+/g, ' '],
];

function scrub(text: string): string {
  return volatile.reduce((s, [re, by]) => s.replace(re, by), text).trim();
}

/**
 * The title of the report that starts at lines[0] (the header line) and continues in the
 * following lines (its call trace, RIP, registers).
 */
export function crashTitle(kind: string, lines: readonly string[]): string {
  const header = lines[0]?.trim() ?? '';
  const rip = ripFunction(lines);
  const warn = /^WARNING: CPU: \d+ PID: \d+ at \S+ (.*)$/.exec(header);
  if (warn) return `WARNING in ${frameFunction(warn[1]!) ?? rip ?? scrub(warn[1]!)}`;
  if (/cut here/.test(header)) {
    const next = lines.find((l) => /^WARNING: CPU:/.test(l.trim()));
    if (next) return crashTitle(kind, [next, ...lines.slice(1)]);
  }
  const panic = /^Kernel panic - not syncing: (.*)$/.exec(header);
  if (panic) {
    // "Attempted to kill init! exitcode=0x0000000b": the reason without its volatile numbers.
    const reason = panic[1]!.replace(/\s*exitcode=0x[0-9a-f]+/, '').replace(/:\s*$/, '');
    return `Kernel panic: ${scrub(reason)}`;
  }
  const bugAt = /^kernel BUG at ([^!]+)!/.exec(header);
  if (bugAt) return `kernel BUG in ${rip ?? scrub(bugAt[1]!)}`;
  const hung = /^INFO: task ([^:\s]+):\d+ blocked for more than/.exec(header);
  if (hung) return `INFO: task hung in ${stackFunction(lines) ?? hung[1]}`;
  if (kind === 'rcu-stall') return `INFO: rcu detected stall${stackFunction(lines) ? ` in ${stackFunction(lines)}` : ''}`;
  if (kind === 'soft-lockup') return `BUG: soft lockup${rip ? ` in ${rip}` : ''}`;
  if (kind === 'lockdep') return `lockdep: ${scrub(header.replace(/^WARNING: /, ''))}`;
  // "BUG: kernel NULL pointer dereference, address: 0000000000000000", "general protection fault, …",
  // "BUG: KASAN: slab-use-after-free in foo+0x…": the wording up to the first comma, then where.
  const kasan = /^BUG: KASAN: ([\w-]+) in (\S+)/.exec(header);
  if (kasan) return `KASAN: ${kasan[1]} in ${frameFunction(kasan[2]!) ?? kasan[2]}`;
  // "BUG: KFENCE: use-after-free read in foo+0x…/0x…"
  const kfence = /^BUG: KFENCE: (.+?) in (\S+)/.exec(header);
  if (kfence) return `KFENCE: ${kfence[1]} in ${frameFunction(kfence[2]!) ?? kfence[2]}`;
  // "list_del corruption. prev->next should be …": which list operation, and where (the BUG's RIP, or the caller).
  const list = /^(list_(?:add|del)) corruption/.exec(header);
  if (list) {
    const at = rip && !/^__list_\w+_valid/.test(rip) ? rip : stackFunction(lines);
    return `${list[1]} corruption${at ? ` in ${at}` : ''}`;
  }
  const what = scrub(header.replace(/^Oops: (?:Oops: )?/, 'Oops ').split(',')[0]!.replace(/:\s*$/, ''));
  return rip ? `${what} in ${rip}` : what;
}

/** The first real function of a call trace ("Call Trace:" then " foo+0x…/0x…"), skipping scheduler frames. */
function stackFunction(lines: readonly string[]): string | undefined {
  const start = lines.findIndex((l) => /Call Trace:/.test(l));
  if (start < 0) return undefined;
  for (const line of lines.slice(start + 1)) {
    const fn = frameFunction(line);
    if (fn && !/^(__schedule|schedule\w*|__switch_to\w*|io_schedule\w*|\w*_timeout|__wait\w*|wait_\w+|\w*_common)$/.test(fn)) return fn;
  }
  return undefined;
}
