// The machine-readable report (docs/report-schema.md): what `lab` itself, dashboards and
// bisect scripts read back. Bump SCHEMA_VERSION for anything but an additive change.
import { FileReporter, type RunReport } from './file-reporter.ts';

export const SCHEMA_VERSION = 1;

export interface JsonReport extends RunReport {
  schemaVersion: typeof SCHEMA_VERSION;
}

export function renderJson({ run, summary, results, guestLogs = [], teardown }: RunReport): string {
  const report: JsonReport = { schemaVersion: SCHEMA_VERSION, run, summary, results, guestLogs, ...(teardown?.length ? { teardown } : {}) };
  return `${JSON.stringify(report, null, 2)}\n`;
}

export class JsonReporter extends FileReporter {
  constructor(path: string) {
    super('json', path, renderJson, Date.now, true);
  }
}
