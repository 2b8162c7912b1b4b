// Output for CI and pipes: one timestamped line per event that matters, no colour, no
// cursor movement, and the summary alone on the last line so scripts can grep it.
import { stripControl } from '../util/terminal-text.ts';
import type { Reporter, RunEvent, ScenarioResult, Status } from './events.ts';
import { describeRun, detailLines, formatDuration, formatSummary, guestLogLines, skipLines } from './format.ts';
import type { TextSink } from './sink.ts';

const WORD: Record<Status, string> = { passed: 'PASS', failed: 'FAIL', errored: 'ERROR', skipped: 'SKIP', interrupted: 'INTERRUPTED' };

export interface PlainOptions {
  stream?: TextSink;
  now?: () => Date;
}

/** "HH:MM:SS" in UTC, as the lab's progress lines print it, so the two interleave sensibly. */
export function clockTime(d: Date): string {
  return d.toISOString().slice(11, 19);
}

export class PlainReporter implements Reporter {
  readonly name = 'plain';
  private readonly stream: TextSink;
  private readonly now: () => Date;
  private runDir: string | undefined;

  constructor(options: PlainOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.now = options.now ?? (() => new Date());
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run-start':
        this.runDir = event.run.runDir;
        this.line(`RUN ${describeRun(event.run)}`);
        break;
      case 'scenario-start':
        // A CI log that stops here tells which scenario hung.
        this.line(`START ${event.scenario.id}`);
        break;
      case 'scenario-end':
        this.write(this.scenarioLines(event.result));
        break;
      case 'teardown':
        this.line(`WARN teardown ${event.where}: ${event.error}`);
        break;
      case 'guest-log':
        this.write([`[${clockTime(this.now())}] FOUND in the kernel log ${event.finding.where}`, ...guestLogLines(event.finding, this.runDir).map((l) => `    ${l}`)]);
        break;
      case 'run-end':
        this.line(`DONE results in ${event.run.runDir} (${formatDuration(event.summary.ms)})`);
        this.write([...skipLines(event.results), formatSummary(event.summary, event.run.total)]);
        break;
    }
  }

  private scenarioLines(r: ScenarioResult): string[] {
    const head = `[${clockTime(this.now())}] ${WORD[r.status]} ${r.scenario.id} (${formatDuration(r.ms)})`;
    return [head, ...detailLines(r, this.runDir).map((l) => `    ${l}`)];
  }

  private line(text: string): void {
    this.write([`[${clockTime(this.now())}] ${text}`]);
  }

  // Ids, step titles and failures carry text from the guest and from patches: no terminal
  // control sequence of theirs reaches the terminal.
  private write(lines: string[]): void {
    this.stream.write(lines.map((l) => `${stripControl(l)}\n`).join(''));
  }
}
