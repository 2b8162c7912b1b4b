// Merging the JSON reports of several shards into one run: results are concatenated (a scenario
// reported twice is an error), the summary is recomputed, and every reporter renders the result.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { summarize, type Reporter, type RunInfo, type ScenarioResult } from './events.ts';

export interface JsonReportFile {
  schemaVersion: number;
  run: RunInfo;
  results: ScenarioResult[];
}

export function mergeReports(reports: JsonReportFile[], runDir: string): { run: RunInfo; results: ScenarioResult[] } {
  if (reports.length === 0) throw new Error('nothing to merge');
  const versions = new Set(reports.map((r) => r.schemaVersion));
  if (versions.size > 1) throw new Error(`reports of different schema versions: ${[...versions].join(', ')}`);
  // Shards run by different QEMUs (--qemu 7.2 and 10) are two runs, not one; older reports name none.
  const qemus = new Set(reports.map((r) => r.run.qemu?.version ?? 'unnamed'));
  if (qemus.size > 1) throw new Error(`reports of runs on different QEMUs: ${[...qemus].join(', ')}`);
  const seen = new Map<string, string>();
  const results: ScenarioResult[] = [];
  for (const report of reports) {
    for (const r of report.results) {
      if (seen.has(r.scenario.id)) throw new Error(`${r.scenario.id} is in two reports (${seen.get(r.scenario.id)} and ${report.run.runId}): shards overlap`);
      seen.set(r.scenario.id, report.run.runId);
      results.push(r);
    }
  }
  const first = reports[0]!.run;
  const run: RunInfo = { ...first, runId: `merged-${reports.map((r) => r.run.runId).join('+')}`.slice(0, 200), runDir, total: results.length };
  return { run, results: results.sort((a, b) => a.scenario.id.localeCompare(b.scenario.id)) };
}

export async function readReport(dir: string): Promise<JsonReportFile> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as JsonReportFile;
}

/** Replays a merged run through reporters, as if it had run in one piece. */
export async function replay(reporter: Reporter, run: RunInfo, results: ScenarioResult[]): Promise<void> {
  await reporter.onEvent({ type: 'run-start', run });
  for (const result of results) await reporter.onEvent({ type: 'scenario-end', result });
  await reporter.onEvent({ type: 'run-end', run, summary: summarize(results, results.reduce((ms, r) => ms + r.ms, 0)), results });
  await reporter.close?.();
}
