// After a session: the file reports that could not be written turn into the command's error.
import { FileReporter } from '../report/file-reporter.ts';
import type { Multiplexer } from '../report/multiplexer.ts';
import { DiskFullError } from '../util/disk-full.ts';
import { LabError } from '../util/errors.ts';

/**
 * A report that could not be written is an error, not a pass with a warning: CI that reads
 * report.xml would otherwise find last night's file, or none, and a green exit code.
 */
export function lostReports(reporter: Multiplexer): LabError | undefined {
  const files = reporter.disabled.filter((d) => reporter.reporters.find((r) => r.name === d.name) instanceof FileReporter);
  if (files.length === 0) return undefined;
  const what = files.map((d) => {
    const path = (reporter.reporters.find((r) => r.name === d.name) as FileReporter).path;
    if (d.error instanceof DiskFullError) return d.error.message;
    return `${path} (${d.error instanceof Error ? d.error.message : String(d.error)})`;
  });
  const full = files.find((d) => d.error instanceof DiskFullError);
  return new LabError(`${what.length === 1 ? 'a report' : 'reports'} could not be written: ${what.join('; ')}`, {
    hint: full ? (full.error as DiskFullError).hint : 'the results of the scenarios are in the other reports and in lab.ndjson',
  });
}
