import test, { type ExecutionContext } from 'ava';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveReporterSpecs } from '../../../src/report/create.ts';
import { summarize, type Observation, type ScenarioResult } from '../../../src/report/events.ts';
import { artifactHref, cleanText } from '../../../src/report/html-escape.ts';
import { HtmlReporter, renderHtml, runDirHref } from '../../../src/report/html.ts';
import { errored, events, failed, feed, passed, results, run, RUN_DIR, skipped } from './report-fixture.ts';

const report = (rs: ScenarioResult[] = results) => ({ run, summary: summarize(rs, 95_250), results: rs });
const page = renderHtml(report());

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-report-html-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Where a scenario's section starts in the page. */
const sectionAt = (html: string, r: ScenarioResult) => html.indexOf(`<section class="card scenario ${r.status}" id="s${results.indexOf(r) + 1}-`);

test('one self-contained document: inline style, no script, nothing fetched', (t) => {
  t.true(page.startsWith('<!DOCTYPE html>\n<html lang="en">'));
  t.regex(page, /<meta charset="utf-8">/);
  t.regex(page, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;">/);
  t.regex(page, /<style>[^<]+<\/style>/);
  t.notRegex(page, /<script|<link|<img|<iframe|\bsrc=|@import|url\(/i);
  t.regex(page, /<title>iommufd-lab 20250101-120000-abcd: 1 passed, 1 failed, 1 errored, 1 skipped, 1 not judged \(skipped on every machine: iommufd\/nested-s2\)<\/title>/);
  t.true(page.endsWith('</html>\n'));
});

test('the header names the run, the kernel and its series, and counts by status', (t) => {
  t.regex(page, /<h1>iommufd-lab run <code>20250101-120000-abcd<\/code><\/h1>/);
  t.regex(page, /<b>6\.13\.0-rc1-lab<\/b> <span class="muted">build key <code>k-3f2a<\/code>/);
  t.regex(page, /<dt>Base<\/dt><dd><code>v6\.13-rc1<\/code><\/dd>/);
  t.regex(page, /<li><span class="patch-index">1\/1<\/span> vfio: park the fd<\/li>/);
  t.regex(page, /<dt>Accelerator<\/dt><dd>kvm<\/dd>/);
  t.regex(page, /<dt>Lab<\/dt><dd>iommufd-lab 0\.1\.0<\/dd>/);
  t.regex(page, /<time datetime="2025-01-01T12:00:00\.000Z">2025-01-01 12:00:00 UTC<\/time>, took 1m35s/);
  for (const s of ['passed', 'failed', 'errored', 'skipped']) t.regex(page, new RegExp(`<div class="tile ${s} nonzero"><b>1</b>${s}</div>`));
  t.notRegex(page, /Interrupted/);
});

test('failed and errored scenarios come first, in the overview and in the sections', (t) => {
  const order = [failed, errored, skipped, passed].map((r) => sectionAt(page, r));
  t.true(order.every((at) => at > 0), String(order));
  t.deepEqual([...order].sort((a, b) => a - b), order);
  const overview = page.slice(page.indexOf('<table class="overview">'), page.indexOf('</table>', page.indexOf('<table class="overview">')));
  t.deepEqual([...overview.matchAll(/href="#s\d+-([^"]+)"/g)].map((m) => m[1]), ['cdev-double-bind', 'iommufd-ioas-map', 'iommufd-nested-s2', 'cdev-parked-fd']);
});

test('every section leads with its review concern, linked to its reference', (t) => {
  for (const r of results) {
    const section = page.slice(sectionAt(page, r));
    t.regex(section, new RegExp(`^[^]*?<blockquote class="concern"><p>the ${r.scenario.name} concern</p><cite><a href="https://lore\\.kernel\\.org/r/1@example">`));
  }
  t.regex(renderHtml(report([{ ...passed, scenario: { ...passed.scenario, concern: { text: 'c', ref: '<20210921.1@nvidia.com>' } } }])), /<cite><a href="https:\/\/lore\.kernel\.org\/r\/20210921\.1@nvidia\.com">&lt;20210921\.1@nvidia\.com&gt;<\/a><\/cite>/);
  t.regex(renderHtml(report([{ ...passed, scenario: { ...passed.scenario, concern: { text: 'c', ref: 'iommufd_device_bind() (Linux 5.19)' } } }])), /<cite>iommufd_device_bind\(\) \(Linux 5\.19\)<\/cite>/);
});

test('data is escaped: markup, ampersands, quotes, escape sequences and control bytes', (t) => {
  t.true(page.includes('second BIND returned 0, expected &lt;EBUSY&gt; &amp; nothing else'));
  t.false(page.includes('<EBUSY>'));
  // The serial tail: "<&>" and quotes escaped, ANSI colours gone, BEL shown as cat -v does.
  t.true(page.includes('pci 0000:00:03.0: &lt;&amp;&gt; &quot;quoted&quot;^G bell\n[    1.200] Kernel panic - not syncing ]]&gt;'));
  t.notRegex(page, /<&>|[\x00-\x08\x0b-\x1f\x7f]/);
  t.true(page.includes('needs &quot;nested&quot; #VT-d &amp; KVM'));
  // Hostile text in every slot a scenario controls.
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&';
  const hostile: ScenarioResult = {
    ...failed,
    scenario: { ...failed.scenario, id: evil, tags: [evil], devices: [evil], file: evil, machine: evil, flavour: evil, concern: { text: evil, ref: `javascript:${evil}` } },
    steps: [{ title: evil, status: 'failed', ms: 1, message: evil }],
    failures: [evil],
    observations: [{ op: evil, expected: evil, observed: evil, ok: false }],
    dmar: { expected: [], observed: [], unexpected: [{ device: evil, access: 'write', address: evil, reason: evil }] },
    findings: [{ kind: evil, title: evil, line: evil, excerpt: evil }],
    error: { phase: evil, message: evil, serialTail: evil },
    artifacts: { [evil]: 'javascript:alert(document.cookie)/<script>x</script>', note: evil },
  };
  const out = renderHtml({ run: { ...run, runId: evil, labVersion: evil, kernel: { release: evil, key: evil, base: evil, patches: [{ index: 1, subject: evil }] } }, summary: summarize([hostile], 1), results: [hostile] });
  t.notRegex(out, /<script|<img|onerror=alert\(2\)>|href="javascript:/i);
  t.true(out.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;'));
  // An artifact path cannot become a URL scheme: its ':' is percent-encoded.
  t.regex(out, /<a href="javascript%3Aalert\(document\.cookie\)\/%3Cscript%3Ex%3C\/script%3E" title="&lt;script&gt;/);
});

test('cleanText keeps tabs and newlines and makes every other control visible', (t) => {
  t.is(cleanText('a\tb\r\nc\rd\x00\x1b[1;31me\x1b[0m\x1b(Bf\x7f\x85'), 'a\tb\nc\nd^@e^[(Bf^?\ufffd');
});

test('artifact links are relative to the run directory, so the directory can be moved', (t) => {
  const section = page.slice(sectionAt(page, failed));
  t.regex(section, /<h3>Artifacts<\/h3><p class="artifacts"><a href="cdev\/double-bind\/serial\.log" title="serial: cdev\/double-bind\/serial\.log">serial\.log<\/a><a href="cdev\/double-bind\/dmesg\.txt"/);
  t.false(page.includes(`href="${RUN_DIR}`));
  t.false(page.includes('href="/'));
  t.is(artifactHref('scenarios/a b#1/serial.log'), 'scenarios/a%20b%231/serial.log');
  t.is(artifactHref('scenarios/x/serial.log', '../runs/r 1'), '../runs/r%201/scenarios/x/serial.log');
  t.is(runDirHref('/runs/r1/report.html', '/runs/r1'), '');
  t.is(runDirHref('/home/me/out/r.html', '/runs/r1'), '../../../runs/r1');
  // A note that is not a path (the "kept" guest) is text, not a link.
  const kept = renderHtml(report([{ ...failed, artifacts: { kept: 'guest left running (pid 42): ./labw ssh' } }]));
  t.regex(kept, /<p><b>kept:<\/b> guest left running \(pid 42\): \.\/labw ssh<\/p>/);
});

test('a failed scenario shows the rows that did not hold, its DMAR faults and kernel findings', (t) => {
  const section = page.slice(sectionAt(page, failed), sectionAt(page, errored));
  t.regex(section, /<tr class="bad"><td class="mono">VFIO_DEVICE_BIND_IOMMUFD#2<\/td><td class="mono">EBUSY<\/td><td class="mono observed">ok \(ret 0\)<\/td><td class="mark">✗<\/td><\/tr>/);
  t.regex(section, /<tr class="good"><td class="mono">VFIO_DEVICE_BIND_IOMMUFD<\/td>/);
  t.regex(section, /1 of 2 observations did not hold/);
  t.regex(section, /<div class="problem failed"><b>Did not hold<\/b><ul><li class="mono">second BIND returned 0/);
  t.regex(section, /1 observed, <span class="bad-line">1 unexpected<\/span>/);
  t.regex(section, /<tr class="bad"><td>unexpected<\/td><td class="mono">00:03\.0<\/td><td>write<\/td><td class="mono">0x20000000<\/td><td class="mono">0x05 PTE Write access is not set<\/td><\/tr>/);
  t.regex(section, /<details class="finding" open><summary><span class="badge kind">WARN<\/span> <b>WARNING in vfio_main<\/b> <code>WARNING: CPU: 0 PID: 1 at drivers\/vfio\/vfio_main\.c:42<\/code><\/summary><pre>Call Trace: \.\.\.<\/pre><\/details>/);
  t.regex(section, /<td>second bind<pre class="step-msg">expected EBUSY<\/pre><\/td><td><span class="badge failed">failed<\/span><\/td><td class="num">40 ms<\/td>/);
});

test('an errored scenario shows its phase, message and serial tail; a skipped one its reason', (t) => {
  const section = page.slice(sectionAt(page, errored), sectionAt(page, skipped));
  t.regex(section, /<div class="problem"><b>Errored during boot<\/b><pre>guest did not reach sshd within 90\.0 s<\/pre><\/div>/);
  t.regex(section, /<h3>Serial console, last 2 lines<\/h3><pre class="serial">\[ {4}1\.000\] pci/);
  // The watchdog never ran: no claim that the kernel log was clean.
  t.notRegex(section, /Kernel findings|DMAR faults|Observations/);
  t.regex(page.slice(sectionAt(page, skipped), sectionAt(page, passed)), /<div class="problem skipped"><b>Skipped:<\/b> needs &quot;nested&quot; #VT-d &amp; KVM<\/div>/);
  t.regex(page.slice(sectionAt(page, passed)), /<p class="ok-line">None: no oops, WARN/);
});

test('a big table leads with what did not hold, a few of each kind, and folds the rest', (t) => {
  const obs: Observation[] = Array.from({ length: 520 }, (_, i) => ({ op: `ioctl#${i}`, expected: 'EINVAL', observed: 'EINVAL', ok: true }));
  for (let i = 100; i < 160; i++) obs[i] = { op: `ioctl#${i}`, expected: 'EINVAL', observed: 'ENOTTY', ok: false };
  obs[300] = { op: 'VFIO_DEVICE_GET_INFO', expected: 'EINVAL', observed: 'ok (ret 0)', ok: false };
  const out = renderHtml(report([{ ...failed, observations: obs, failures: [] }]));
  t.regex(out, /61 of 520 observations did not hold<\/span>; 459 held\./);
  t.regex(out, /<span class="pattern">expected EINVAL → ENOTTY ×60<\/span><span class="pattern">expected EINVAL → ok \(ret 0\) ×1<\/span>/);
  const open = out.slice(out.indexOf('<table class="observations">'), out.indexOf('<details><summary>'));
  t.deepEqual([...open.matchAll(/<td class="mono">(ioctl#\d+|VFIO_\w+)<\/td>/g)].map((m) => m[1]), ['ioctl#100', 'ioctl#101', 'ioctl#102', 'ioctl#103', 'ioctl#104', 'VFIO_DEVICE_GET_INFO']);
  t.regex(out, /<details><summary>55 more that did not hold<\/summary><table class="observations">/);
  t.regex(out, /<details><summary>459 observations that held<\/summary><table class="observations">/);
  // Every row is in the page, folded or not.
  t.is([...out.matchAll(/<tr class="(?:good|bad)"><td class="mono">/g)].length, 520);
  // Observations the table shows are not listed a second time among the failures.
  const withFailures = renderHtml(report([{ ...failed, observations: obs, failures: ['VFIO_DEVICE_GET_INFO: expected EINVAL, got ok (ret 0)', 'kernel log: WARN: x'] }]));
  t.regex(withFailures, /<b>Did not hold<\/b><ul><li class="mono">kernel log: WARN: x<\/li><\/ul>/);
  // A passed sweep folds all of it.
  const allHeld = renderHtml(report([{ ...passed, observations: obs.map((o) => ({ ...o, ok: true })) }]));
  t.regex(allHeld, /<p class="ok-line">All 520 observations held\.<\/p><details><summary>520 observations that held<\/summary>/);
});

test('the reporter writes report.html at run-end with the end of a failed scenario\'s serial log', async (t) => {
  const runDir = await tempDir(t);
  await mkdir(join(runDir, 'cdev/double-bind'), { recursive: true });
  const log = Array.from({ length: 100 }, (_, i) => `[ ${i}] line ${i}`).join('\r\n') + '\r\n<WARN> & \x1b[31mred\x1b[0m\r\n';
  await writeFile(join(runDir, 'cdev/double-bind/serial.log'), log);
  const withDir = events().map((e) => ('run' in e ? { ...e, run: { ...e.run, runDir } } : e));
  const path = join(runDir, 'report.html');
  await feed(new HtmlReporter(path), withDir);
  t.deepEqual((await readdir(runDir)).sort(), ['cdev', 'report.html']);
  const out = await readFile(path, 'utf8');
  t.regex(out, /<h3>Serial console, last 60 lines<\/h3><pre class="serial">\[ 41\] line 41\n[^]*\[ 99\] line 99\n&lt;WARN&gt; &amp; red<\/pre>/);
  // The errored scenario's own serial tail wins; passed ones show no console.
  t.is([...out.matchAll(/<h3>Serial console/g)].length, 2);
});

test('a run cut short still gets a report, marked as interrupted', async (t) => {
  const dir = await tempDir(t);
  const all = events();
  const firstEnd = all.findIndex((e) => e.type === 'scenario-end');
  await feed(new HtmlReporter(join(dir, 'r.html')), all.slice(0, firstEnd + 1));
  const out = await readFile(join(dir, 'r.html'), 'utf8');
  t.regex(out, /<p class="banner"><b>Interrupted:<\/b> 1 of 4 scenarios finished/);
  t.regex(out, /cdev\/parked-fd/);
});

test('html is a file reporter: report.html in the run directory by default, or PATH', (t) => {
  const ctx = { runDir: '/runs/r1', interactive: false, cwd: '/home/me/work' };
  t.deepEqual(resolveReporterSpecs([], ctx).filter((s) => s.name === 'html'), [{ name: 'html', path: '/runs/r1/report.html' }]);
  t.deepEqual(resolveReporterSpecs(['html=out/r.html'], ctx).filter((s) => s.name === 'html'), [{ name: 'html', path: '/home/me/work/out/r.html' }]);
  t.throws(() => resolveReporterSpecs(['html='], ctx), { message: /reporter "html" needs a path/ });
});

test('a section says where its time went, and that a guest was reused when it has no boot', (t) => {
  const booted = { ...passed, phases: [{ phase: 'boot' as const, ms: 2900 }, { phase: 'setup' as const, ms: 310 }, { phase: 'scenario' as const, ms: 1200 }, { phase: 'verdict' as const, ms: 420 }] };
  const warm = { ...failed, phases: [{ phase: 'setup' as const, ms: 250 }, { phase: 'scenario' as const, ms: 800 }, { phase: 'verdict' as const, ms: 300 }] };
  const html = renderHtml(report([booted, warm]));
  t.regex(html, /<span class="phases">\(boot 2\.9 ?s · setup 310 ms · scenario 1\.2 ?s · verdict 420 ms\)<\/span>/);
  t.regex(html, /<span class="phases">\(setup 250 ms · scenario 800 ms · verdict 300 ms, guest reused\)<\/span>/);
});
