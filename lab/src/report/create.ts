// Turns --reporter specs ("line", "plain", "junit=PATH", "tap=PATH", "json=PATH", "html=PATH") into one
// Reporter. Parsing is pure (parseReporterSpec, resolveReporterSpecs); only createReporters
// constructs reporters.
import { join, resolve } from 'node:path';
import type { Reporter } from './events.ts';
import { HtmlReporter } from './html.ts';
import { JsonReporter } from './json.ts';
import { JunitReporter } from './junit.ts';
import { LineReporter } from './line.ts';
import { Multiplexer } from './multiplexer.ts';
import { PlainReporter } from './plain.ts';
import type { TextSink } from './sink.ts';
import { TapReporter } from './tap.ts';

export const REPORTER_NAMES = ['line', 'plain', 'junit', 'tap', 'json', 'html'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

type FileReporterName = 'junit' | 'tap' | 'json' | 'html';
const DEFAULT_FILE: Record<FileReporterName, string> = { junit: 'report.xml', tap: 'report.tap', json: 'report.json', html: 'report.html' };
const isFileReporter = (name: ReporterName): name is FileReporterName => name in DEFAULT_FILE;
const isReporterName = (name: string): name is ReporterName => (REPORTER_NAMES as readonly string[]).includes(name);

export type ReporterSpec = { name: 'line' } | { name: 'plain' } | { name: FileReporterName; path?: string };
export type ResolvedSpec = { name: 'line' } | { name: 'plain' } | { name: FileReporterName; path: string };

export interface ReporterContext {
  runDir: string;
  interactive: boolean;
  /** Base for relative PATHs. Default: process.cwd(), where the user typed the command. */
  cwd?: string;
  stdout?: TextSink;
  stderr?: TextSink;
}

/** Parses one spec; the path is everything after the first '=' (paths may contain '='). */
export function parseReporterSpec(spec: string): ReporterSpec {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const path = eq < 0 ? undefined : spec.slice(eq + 1);
  if (!isReporterName(name)) throw new Error(`unknown reporter "${name}" in "${spec}"; known reporters: ${REPORTER_NAMES.join(', ')}`);
  if (!isFileReporter(name)) {
    if (path !== undefined) throw new Error(`reporter "${name}" prints to the terminal and takes no path (got "${spec}")`);
    return { name };
  }
  // "json=" is most likely an empty shell variable; guessing a default would hide that.
  if (path === '') throw new Error(`reporter "${name}" needs a path after '=' (or no '=' for ${DEFAULT_FILE[name]} in the run directory)`);
  return path === undefined ? { name } : { name, path };
}

/**
 * Applies the defaults: no specs means the terminal reporter that suits the output plus the
 * json, junit and html files the lab always keeps in the run directory; a file reporter
 * without a path writes into the run directory.
 */
export function resolveReporterSpecs(specs: readonly string[], ctx: ReporterContext): ResolvedSpec[] {
  // The run directory always keeps a JSON, a JUnit and an HTML report, and the console always
  // shows progress: named reporters add to these defaults (or replace the one they name).
  const names = specs.map((spec) => parseReporterSpec(spec).name);
  const wanted = [
    ...(names.includes('line') || names.includes('plain') ? [] : [ctx.interactive ? 'line' : 'plain']),
    ...specs,
    ...(names.includes('json') ? [] : ['json']),
    ...(names.includes('junit') ? [] : ['junit']),
    ...(names.includes('html') ? [] : ['html']),
  ];
  const resolved = wanted.map((spec): ResolvedSpec => {
    const s = parseReporterSpec(spec);
    if (s.name === 'line' || s.name === 'plain') return s;
    return { name: s.name, path: s.path === undefined ? join(ctx.runDir, DEFAULT_FILE[s.name]) : resolve(ctx.cwd ?? process.cwd(), s.path) };
  });
  // Two reporters renaming onto one file would leave whichever finished last.
  const paths = resolved.flatMap((s) => ('path' in s ? [s.path] : []));
  const twice = paths.find((p, i) => paths.indexOf(p) !== i);
  if (twice) throw new Error(`two reporters would write ${twice}`);
  return resolved;
}

export function createReporters(specs: readonly string[], ctx: ReporterContext): Multiplexer {
  const reporters = resolveReporterSpecs(specs, ctx).map((s): Reporter => {
    switch (s.name) {
      case 'line':
        return new LineReporter({ stream: ctx.stdout });
      case 'plain':
        return new PlainReporter({ stream: ctx.stdout });
      case 'junit':
        return new JunitReporter(s.path);
      case 'tap':
        return new TapReporter(s.path);
      case 'json':
        return new JsonReporter(s.path);
      case 'html':
        return new HtmlReporter(s.path);
    }
  });
  return new Multiplexer(reporters, { stderr: ctx.stderr });
}
