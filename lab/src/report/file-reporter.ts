// The common shape of the file reporters (junit, tap, json): collect the run, render it with
// a pure function, write the file atomically once. A checkpointing reporter (the JSON report,
// which --resume reads) also rewrites it after each scenario: a run that stops mid-way (a full
// disk, a crash of the lab, SIGKILL) leaves the results it had, and the last rewrite that
// failed leaves the one before it whole.
import { summarize, type GuestLogFinding, type Reporter, type RunEvent, type RunInfo, type ScenarioResult, type Summary } from './events.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** Everything a file format needs; the payload of run-end. */
export interface RunReport {
  run: RunInfo;
  summary: Summary;
  results: ScenarioResult[];
  /** Findings in the kernel log outside every scenario (absent in older reports). */
  guestLogs?: GuestLogFinding[];
  /** Teardown steps that failed (a QEMU that would not stop); absent when none did. */
  teardown?: { where: string; error: string }[];
}

export type Render = (report: RunReport) => string;

export class FileReporter implements Reporter {
  private run: RunInfo | undefined;
  private results: ScenarioResult[] = [];
  private guestLogs: GuestLogFinding[] = [];
  private teardown: { where: string; error: string }[] = [];
  private startedMs = 0;
  private written = false;

  constructor(
    readonly name: string,
    /** Absolute path of the file written. */
    readonly path: string,
    private readonly render: Render,
    private readonly now: () => number = Date.now,
    private readonly checkpoint = false,
  ) {}

  async onEvent(event: RunEvent): Promise<void> {
    switch (event.type) {
      case 'run-start':
        this.run = event.run;
        this.results = [];
        this.guestLogs = [];
        this.teardown = [];
        this.startedMs = this.now();
        this.written = false;
        break;
      case 'scenario-end':
        this.results.push(event.result);
        if (this.checkpoint && this.run) await writeFileAtomic(this.path, this.render(this.partial(this.run)));
        break;
      case 'guest-log':
        this.guestLogs.push(event.finding);
        break;
      case 'teardown':
        this.teardown.push({ where: event.where, error: event.error });
        break;
      case 'run-end':
        await this.write({ run: event.run, summary: event.summary, results: event.results, guestLogs: event.guestLogs ?? this.guestLogs, ...this.teardowns() });
        break;
    }
  }

  // A run cut short (SIGINT, a crash in the runner) never emits run-end. Writing what did
  // finish keeps CI's report; readers see results.length < run.total.
  async close(): Promise<void> {
    if (this.written || !this.run) return;
    await this.write(this.partial(this.run));
  }

  /** What finished so far, as a report of a run cut short. */
  private partial(run: RunInfo): RunReport {
    return { run, summary: summarize(this.results, this.now() - this.startedMs, this.guestLogs), results: [...this.results], guestLogs: [...this.guestLogs], ...this.teardowns() };
  }

  private teardowns(): Pick<RunReport, 'teardown'> {
    return this.teardown.length ? { teardown: [...this.teardown] } : {};
  }

  private async write(report: RunReport): Promise<void> {
    await writeFileAtomic(this.path, this.render(report));
    this.written = true;
  }
}
