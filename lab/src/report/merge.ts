// Merging the JSON reports of several shards into one run: results are concatenated (a scenario
// reported twice is an error), the summary is recomputed, and every reporter renders the result.
// A merge must never read greener than the shards: reports of different kernels, series,
// configs or QEMUs are refused, each shard's totals are checked and kept (run.shards), and a
// missing or cut-short shard makes the merge incomplete rather than a smaller run.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { statuses, summarize, type GuestLogFinding, type Reporter, type RunInfo, type ScenarioResult, type ShardSummary, type Summary } from './events.ts';
import { parseIdentityFacts } from '../util/identity.ts';

export interface JsonReportFile {
  schemaVersion: number;
  run: RunInfo;
  /** Absent only in reports written by hand. */
  summary?: Summary;
  results: ScenarioResult[];
  /** Findings in the kernel log outside every scenario (absent in older reports). */
  guestLogs?: GuestLogFinding[];
}

/** What decides a verdict that report.json does not carry, read from the run's identity.json. */
export interface IdentityFacts {
  labCommit?: string;
  /** sha256 of the kernel's final .config. */
  configSha256?: string;
  /** Each patch's content hash, in order. */
  patchSha256s?: string[];
}

/** One report to merge: where it came from (for messages) and its identity, when it has one. */
export interface ShardReport extends JsonReportFile {
  /** How messages name it, e.g. the run directory as given; default its runId. */
  label?: string;
  identity?: IdentityFacts;
}

export interface MergedRun {
  run: RunInfo;
  results: ScenarioResult[];
  /** Every shard's findings outside its scenarios, prefixed with the shard's run. */
  guestLogs: GuestLogFinding[];
  /** Why the merged run is not the whole plan (a shard missing, a shard cut short); empty when it is. */
  incomplete: string[];
}

/** The identity.json fields a merge compares; the rest (paths, timings) may differ between shards. */
export function identityFacts(json: unknown): IdentityFacts {
  const r = parseIdentityFacts(json);
  if (typeof r === 'string') throw new Error(r);
  const { labCommit, configSha256, series } = r;
  return { labCommit, configSha256, patchSha256s: series?.map((p) => p.sha256) };
}

const nameOf = (r: ShardReport) => {
  const label = r.label ?? r.run.runId;
  return r.run.shard ? `shard ${r.run.shard.index}/${r.run.shard.count} (${label})` : label;
};

interface SameField {
  field: string;
  /** What the two reports are, when the field differs: "runs of different kernels". */
  what: string;
  value: (r: ShardReport) => unknown;
  /** Compared only when both reports know it (identity.json is optional). */
  optional?: boolean;
}

// In order: the first difference is the one named, so the cause comes before its consequence
// (a different series or .config also changes the kernel key). Fragment paths are not compared:
// the key covers their bytes and the .config their effect, and checkouts live in different places.
const SAME: SameField[] = [
  { field: 'lab commit', what: 'runs of different lab commits', value: (r) => r.identity?.labCommit, optional: true },
  { field: 'kernel base', what: 'runs of different kernels', value: (r) => r.run.kernel?.base },
  { field: 'series', what: 'runs of different series', value: (r) => r.run.kernel?.patches.map((p) => `${p.index} ${p.subject}`) },
  { field: 'patch contents (sha256)', what: 'runs of different series', value: (r) => r.identity?.patchSha256s, optional: true },
  { field: 'kernel .config (sha256)', what: 'runs of different configs', value: (r) => r.identity?.configSha256, optional: true },
  { field: 'kernel build key', what: 'runs of different kernels', value: (r) => r.run.kernel?.key },
  { field: 'QEMU target', what: 'runs on different QEMUs', value: (r) => r.run.qemu?.target },
  { field: 'QEMU version', what: 'runs on different QEMUs', value: (r) => r.run.qemu?.version },
  { field: 'accelerator', what: 'runs on different accelerators', value: (r) => r.run.accel },
  { field: 'shard count', what: 'shards of different splits', value: (r) => r.run.shard?.count },
  { field: 'planned jobs', what: 'shards of different plans', value: (r) => r.run.shard?.planned },
];

const shown = (v: unknown) => (v === undefined || v === null ? 'none' : typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

/** Throws naming both reports and the field when b is not a shard of the run a belongs to. */
function assertSameRun(a: ShardReport, b: ShardReport): void {
  for (const f of SAME) {
    const va = f.value(a);
    const vb = f.value(b);
    if (f.optional && (va === undefined || vb === undefined)) continue;
    if (JSON.stringify(va) === JSON.stringify(vb)) continue;
    throw new Error(`${nameOf(a)} and ${nameOf(b)} are ${f.what}, not shards of one run: ${f.field} is ${shown(va)} in ${nameOf(a)}, ${shown(vb)} in ${nameOf(b)}`);
  }
}

/**
 * A report's own totals against its results: a summary that does not match them is refused (the
 * report does not add up); fewer results than its plan is a shard cut short, returned as a gap.
 */
function totalsGap(r: ShardReport): string | undefined {
  const counted = summarize(r.results, 0);
  for (const k of statuses) {
    const said = r.summary ? (r.summary[k] ?? 0) : counted[k];
    if (said !== counted[k]) throw new Error(`${nameOf(r)}: its summary counts ${said} ${k} but its results hold ${counted[k]}; the report does not add up`);
  }
  if (r.results.length > r.run.total) throw new Error(`${nameOf(r)}: ${r.results.length} results for a plan of ${r.run.total}; the report does not add up`);
  if (r.results.length < r.run.total) return `${nameOf(r)} has results for ${r.results.length} of its ${r.run.total} scenario(s)`;
  return undefined;
}

/** The shards of the plan that are not here ("shard 2/3 missing"); a shard given twice is refused. */
function missingShards(reports: ShardReport[]): string[] {
  const count = reports[0]!.run.shard?.count;
  if (count === undefined) return [];
  const byIndex = new Map<number, ShardReport>();
  for (const r of reports) {
    const twin = byIndex.get(r.run.shard!.index);
    if (twin) throw new Error(`shard ${r.run.shard!.index}/${count} is given twice: ${twin.label ?? twin.run.runId} and ${r.label ?? r.run.runId}`);
    byIndex.set(r.run.shard!.index, r);
  }
  return Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i)).map((i) => `shard ${i}/${count} missing`);
}

/** Each shard's own count, in shard order, for the merged run's `shards`. */
function shardSummaries(reports: ShardReport[]): ShardSummary[] {
  const sorted = [...reports].sort((a, b) => (a.run.shard?.index ?? 0) - (b.run.shard?.index ?? 0));
  return sorted.map((r) => ({
    runId: r.run.runId,
    ...(r.run.shard ? { shard: r.run.shard } : {}),
    total: r.run.total,
    summary: summarize(r.results, r.summary?.ms ?? r.results.reduce((ms, x) => ms + x.ms, 0)),
  }));
}

export function mergeReports(reports: ShardReport[], runDir: string): MergedRun {
  if (reports.length === 0) throw new Error('nothing to merge');
  const versions = new Set(reports.map((r) => r.schemaVersion));
  if (versions.size > 1) throw new Error(`reports of different schema versions: ${[...versions].join(', ')}`);
  for (const r of reports.slice(1)) assertSameRun(reports[0]!, r);
  const seen = new Map<string, string>();
  const results: ScenarioResult[] = [];
  for (const report of reports) {
    for (const r of report.results) {
      if (seen.has(r.scenario.id)) throw new Error(`${r.scenario.id} is in two reports (${seen.get(r.scenario.id)} and ${report.run.runId}): shards overlap`);
      seen.set(r.scenario.id, report.run.runId);
      results.push(r);
    }
  }
  const gaps = reports.map(totalsGap).filter((g) => g !== undefined);
  const missing = missingShards(reports);
  const shards = shardSummaries(reports);
  const given = shards.reduce((n, s) => n + s.total, 0);
  const planned = reports[0]!.run.shard?.planned;
  // Every shard here and none cut short, yet fewer jobs than planned: the shards' plans differ.
  if (planned !== undefined && !missing.length && given !== planned) gaps.push(`the shards hold ${given} of the plan's ${planned} scenario(s)`);
  const first = reports[0]!.run;
  // The total is the plan's, so the reporters count a missing shard's scenarios as not run.
  const run: RunInfo = { ...first, runId: `merged-${reports.map((r) => r.run.runId).join('+')}`.slice(0, 200), runDir, total: planned ?? given, shards };
  delete run.shard;
  const guestLogs = reports.flatMap((r) => (r.guestLogs ?? []).map((g) => ({ ...g, where: `${g.where} (${r.run.runId})` })));
  return { run, results: results.sort((a, b) => a.scenario.id.localeCompare(b.scenario.id)), guestLogs, incomplete: [...missing, ...gaps] };
}

export async function readReport(dir: string): Promise<JsonReportFile> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as JsonReportFile;
}

/** A shard's report.json and, when it has one, its identity.json; errors name the file. */
export async function readShard(dir: string): Promise<ShardReport> {
  let report: JsonReportFile;
  try {
    report = await readReport(dir);
  } catch (error) {
    throw new Error(`${dir}: no readable report.json (${(error as Error).message})`, { cause: error });
  }
  if (typeof report.run !== 'object' || report.run === null || !Array.isArray(report.results)) throw new Error(`${dir}: report.json has no run or no results`);
  let identity: IdentityFacts | undefined;
  try {
    identity = identityFacts(JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8')));
  } catch (error) {
    // A report without identity.json (written elsewhere, copied alone) is compared on report.json only.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${dir}: identity.json cannot be read (${(error as Error).message})`, { cause: error });
  }
  return { ...report, label: dir, ...(identity ? { identity } : {}) };
}

/** Replays a merged run through reporters, as if it had run in one piece. */
export async function replay(reporter: Reporter, run: RunInfo, results: ScenarioResult[], guestLogs: GuestLogFinding[] = []): Promise<void> {
  await reporter.onEvent({ type: 'run-start', run });
  for (const result of results) await reporter.onEvent({ type: 'scenario-end', result });
  for (const finding of guestLogs) await reporter.onEvent({ type: 'guest-log', finding });
  await reporter.onEvent({ type: 'run-end', run, summary: summarize(results, results.reduce((ms, r) => ms + r.ms, 0), guestLogs), results, guestLogs });
  await reporter.close?.();
}
