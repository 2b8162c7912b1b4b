// The HTML report in a real browser: headless Chromium (Debian's `chromium` package) parses the
// file and the DOM it builds must hold what a reviewer reads, row for row — an escaping slip
// that breaks the markup shows up as missing or extra elements. A screenshot is kept for people.
//
// lab/test/fixtures/report/regression-model-run.json is the unmodified report.json of a real
// run: the default scenarios on 6.12 with the parked-FD regression model applied (4 failed,
// 5 passed; S1 made 532 observations, 502 did not hold, and the kernel oopsed).
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunReport } from '../../src/report/file-reporter.ts';
import { renderHtml } from '../../src/report/html.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { results as fixtureResults, run as fixtureRun } from '../unit/report/report-fixture.ts';
import { summarize } from '../../src/report/events.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_COPY = join(repoRoot, '.lab/report-screenshot.png');
const realReport = async (): Promise<RunReport> => JSON.parse(await readFile(join(repoRoot, 'lab/test/fixtures/report/regression-model-run.json'), 'utf8'));

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-browser-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs headless Chromium on a file with its own profile and HOME; returns its stdout. */
async function chromium(dir: string, file: string, args: string[]): Promise<string> {
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`this test needs headless Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install --no-install-recommends chromium)`);
  }
  const profile = await mkdtemp(join(dir, 'profile-'));
  const { stdout } = await execa(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      ...args,
      pathToFileURL(file).href,
    ],
    { cwd: dir, env: { HOME: profile, PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, extendEnv: false, timeout: 90_000 },
  );
  return stdout;
}

async function writeReport(t: ExecutionContext, report: RunReport): Promise<{ dir: string; file: string }> {
  const dir = await tempDir(t);
  const file = join(dir, 'report.html');
  await writeFile(file, renderHtml(report));
  return { dir, file };
}

const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length;

test('Chromium builds the whole report of a real run: every section, every row, failures first', async (t) => {
  const report = await realReport();
  const { dir, file } = await writeReport(t, report);
  const dom = await chromium(dir, file, ['--dump-dom']);
  t.regex(dom, /<title>iommufd-lab 2026-11-23T22-27-29-033Z-run: 5 passed, 4 failed, 0 errored, 0 skipped<\/title>/);
  t.regex(dom, /<li><span class="patch-index">1\/1<\/span> REGRESSION MODEL: vfio: let ioctls through on a parked device FD<\/li>/);
  t.is(count(dom, /<section class="card scenario failed"/g), 4);
  t.is(count(dom, /<section class="card scenario passed"/g), 5);
  t.true(dom.indexOf('scenario failed"') < dom.indexOf('scenario passed"'));
  // Row for row: the browser's tables hold exactly the observations of the report.
  const all = report.results.flatMap((r) => r.observations);
  t.is(count(dom, /<tr class="bad"><td class="mono">/g), all.filter((o) => !o.ok).length);
  t.is(count(dom, /<tr class="good"><td class="mono">/g), all.filter((o) => o.ok).length);
  const s1 = dom.slice(dom.indexOf('id="s6-cdev-parked-fd-blocks-every-op"'));
  t.regex(s1, /^[^]*?<p>A parked FD is very similar to a closed FD: before BIND, read, write, mmap and every ioctl but BIND must fail — not only read\/write\/mmap\.<\/p>/);
  t.regex(s1, /502 of 532 observations did not hold/);
  t.regex(s1, /<details><summary>486 more that did not hold<\/summary>/);
  // Each finding leads with its crash title (a report written before titles existed gets its line).
  t.regex(s1, /<span class="badge kind">BUG<\/span> <b>[^<]+<\/b> <code>BUG: kernel NULL pointer dereference, address: 000000000000003d<\/code>/);
  t.regex(s1, /<a href="scenarios\/cdev_parked-fd-blocks-every-op\/serial\.log" title="serial: [^"]+">serial\.log<\/a>/);
  t.notRegex(dom, /<script/i);
});

test('in the browser, hostile data stays text', async (t) => {
  const { dir, file } = await writeReport(t, { run: fixtureRun, summary: summarize(fixtureResults, 95_250), results: fixtureResults });
  const dom = await chromium(dir, file, ['--dump-dom']);
  t.true(dom.includes('second BIND returned 0, expected &lt;EBUSY&gt; &amp; nothing else'));
  t.true(dom.includes('pci 0000:00:03.0: &lt;&amp;&gt; "quoted"^G bell'));
  t.notRegex(dom, /<ebusy|<script/i);
  t.is(count(dom, /<section class="card scenario /g), 4);
});

test('a screenshot of the real run shows the summary and the first failure', async (t) => {
  const { dir, file } = await writeReport(t, await realReport());
  const png = join(dir, 'report.png');
  await chromium(dir, file, [`--screenshot=${png}`, '--window-size=1280,2000']);
  const bytes = await readFile(png);
  t.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // IHDR: width and height, big-endian, right after the signature and the chunk header.
  t.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [1280, 2000]);
  t.true(bytes.length > 50_000, `a ${bytes.length}-byte PNG is probably blank`);
  await mkdir(dirname(SCREENSHOT_COPY), { recursive: true });
  await copyFile(png, SCREENSHOT_COPY);
  t.log(`screenshot: ${SCREENSHOT_COPY}`);
});
