// The interactive display: one line per finished scenario, details indented below, and on a
// real terminal a single "running" line rewritten in place so a long boot does not look hung.
import type { Reporter, RunEvent, ScenarioResult, Status, Summary } from './events.ts';
import { describeRun, detailLines, formatDuration, formatSummary, guestLogLines, notRun, skipLines } from './format.ts';
import type { TextSink } from './sink.ts';

const SYMBOL: Record<Status, string> = { passed: '✔', failed: '✘', errored: '!', skipped: '-', interrupted: '■' };
// SGR colours: green, red, magenta (errored is the lab's fault, not the kernel's), yellow, cyan
// (interrupted: nobody's fault, no verdict).
const COLOUR: Record<Status, number> = { passed: 32, failed: 31, errored: 35, skipped: 33, interrupted: 36 };
const CLEAR_LINE = '\r\x1b[2K';

export interface LineOptions {
  stream?: TextSink;
  /** Default: the stream is a TTY. */
  color?: boolean;
  /** Rewrite a "running" line in place. Default: the stream is a TTY. */
  live?: boolean;
}

export class LineReporter implements Reporter {
  readonly name = 'line';
  private readonly stream: TextSink;
  private readonly color: boolean;
  private readonly live: boolean;
  private runDir: string | undefined;
  private total: number | undefined;
  private running: string | undefined;

  constructor(options: LineOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.color = options.color ?? this.stream.isTTY === true;
    this.live = options.live ?? this.stream.isTTY === true;
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run-start':
        this.runDir = event.run.runDir;
        this.total = event.run.total;
        this.print([describeRun(event.run)]);
        break;
      case 'scenario-start':
        this.running = event.scenario.id;
        this.status(`… ${event.scenario.id}`);
        break;
      case 'step':
        if (event.scenarioId === this.running) this.status(`… ${event.scenarioId} › ${event.step.title}`);
        break;
      case 'scenario-end':
        this.running = undefined;
        this.print(this.scenarioLines(event.result));
        break;
      case 'teardown':
        this.print([`${this.paint(COLOUR.errored, SYMBOL.errored)} teardown ${event.where}: ${event.error}`]);
        break;
      case 'guest-log':
        this.print([`${this.paint(COLOUR.failed, SYMBOL.failed)} kernel log ${event.finding.where}`, ...guestLogLines(event.finding, this.runDir).map((l) => `    ${l}`)]);
        break;
      case 'run-end':
        this.print(['', ...skipLines(event.results).map((l, i) => (i ? l : this.paint(COLOUR.skipped, l))), `results in ${event.run.runDir}`, this.summaryLine(event.summary)]);
        break;
    }
  }

  close(): void {
    if (this.running !== undefined && this.live) this.stream.write(CLEAR_LINE);
  }

  private scenarioLines(r: ScenarioResult): string[] {
    const head = `${this.paint(COLOUR[r.status], SYMBOL[r.status])} ${r.scenario.id} (${formatDuration(r.ms)})`;
    return [head, ...detailLines(r, this.runDir).map((l) => `    ${l}`)];
  }

  private summaryLine(s: Summary): string {
    // formatSummary names interrupted, not-run, outside findings and not-judged scenarios only
    // when non-zero, after the four counts, each one ', '-separated part.
    const parts = formatSummary(s, this.total).split(', ');
    const missing = notRun(s, this.total);
    const counts = [s.passed, s.failed, s.errored, s.skipped, ...(s.interrupted ? [s.interrupted] : []), ...(missing ? [missing] : []), ...(s.outside ? [s.outside] : []), ...(s.notJudged?.length ? [s.notJudged.length] : [])];
    const colours = [COLOUR.passed, COLOUR.failed, COLOUR.errored, COLOUR.skipped, ...(s.interrupted ? [COLOUR.interrupted] : []), ...(missing ? [COLOUR.interrupted] : []), ...(s.outside ? [COLOUR.failed] : []), ...(s.notJudged?.length ? [COLOUR.errored] : [])];
    // Only non-zero counts are coloured, so a clean run shows no red.
    const painted = parts.map((p, i) => ((counts[i] ?? 0) > 0 ? this.paint(colours[i] ?? 0, p) : p));
    return `${painted.join(', ')} (${formatDuration(s.ms)})`;
  }

  private paint(code: number, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[39m` : text;
  }

  // Finished lines are permanent; the running line is erased first so it never mixes with them.
  private print(lines: string[]): void {
    const clear = this.live ? CLEAR_LINE : '';
    this.stream.write(`${clear}${lines.map((l) => `${l}\n`).join('')}`);
    if (this.running !== undefined) this.status(`… ${this.running}`);
  }

  private status(text: string): void {
    if (!this.live) return;
    const width = this.stream.columns;
    this.stream.write(`${CLEAR_LINE}${width && text.length >= width ? `${text.slice(0, width - 2)}…` : text}`);
  }
}
