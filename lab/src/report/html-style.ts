// The report's only stylesheet, inlined so the file needs nothing else (no fonts, no network).
// Colours: one per status, used for the summary tiles, the badges and each section's edge.
export const STYLE = `
:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --bg: #fff;
  --passed: #1a7f37; --passed-bg: #dafbe1;
  --failed: #cf222e; --failed-bg: #ffebe9;
  --errored: #9a6700; --errored-bg: #fff8c5;
  --skipped: #59636e; --skipped-bg: #eaeef2;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--soft); color: var(--fg); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h1 code { font-size: 19px; }
h2 { font-size: 17px; margin: 0; font-family: var(--mono); word-break: break-all; }
h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 18px 0 6px; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
a { color: #0969da; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.muted { color: var(--muted); }
.run-meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0 0; }
.run-meta dt { color: var(--muted); }
.run-meta dd { margin: 0; word-break: break-word; }
.run-meta ol { margin: 0; padding-left: 0; list-style: none; }
.patch-index { display: inline-block; min-width: 2.2em; color: var(--muted); font-family: var(--mono); }
.tiles { display: flex; gap: 12px; margin: 16px 0 0; flex-wrap: wrap; }
.tile { flex: 1 1 120px; border-radius: 8px; padding: 10px 14px; border: 1px solid var(--line); background: var(--soft); color: var(--muted); }
.tile b { display: block; font-size: 26px; line-height: 1.1; }
.tile.nonzero.passed { background: var(--passed-bg); color: var(--passed); border-color: var(--passed); }
.tile.nonzero.failed { background: var(--failed-bg); color: var(--failed); border-color: var(--failed); }
.tile.nonzero.errored { background: var(--errored-bg); color: var(--errored); border-color: var(--errored); }
.tile.nonzero.skipped { background: var(--skipped-bg); color: var(--skipped); border-color: var(--skipped); }
.banner { border-radius: 6px; padding: 8px 12px; margin: 12px 0 0; background: var(--errored-bg); border: 1px solid var(--errored); }
.badge { display: inline-block; border-radius: 999px; padding: 0 9px; font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; line-height: 20px; white-space: nowrap; }
.badge.passed { background: var(--passed-bg); color: var(--passed); }
.badge.failed { background: var(--failed-bg); color: var(--failed); }
.badge.errored { background: var(--errored-bg); color: var(--errored); }
.badge.skipped { background: var(--skipped-bg); color: var(--skipped); }
.badge.kind { background: var(--failed); color: #fff; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--soft); }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
tr.bad td { background: var(--failed-bg); }
tr.bad td.observed { color: var(--failed); font-weight: 600; }
td.mark { width: 1.5em; text-align: center; font-weight: 700; }
/* Percentages are hints to the automatic layout: the text column takes the room, not a badge. */
th.wide { width: 70%; }
tr.bad td.mark { color: var(--failed); }
tr.good td.mark { color: var(--passed); }
.overview td { vertical-align: middle; }
.overview a { font-family: var(--mono); font-size: 13px; white-space: nowrap; }
.overview td.nowrap { white-space: nowrap; }
.scenario { border-left: 5px solid var(--line); }
.scenario.passed { border-left-color: var(--passed); }
.scenario.failed { border-left-color: var(--failed); }
.scenario.errored { border-left-color: var(--errored); }
.scenario.skipped { border-left-color: var(--skipped); }
.scenario > header { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.facts { margin: 6px 0 0; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 18px; }
.facts b { color: var(--fg); font-weight: 500; }
.tag { display: inline-block; background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; font-size: 12px; color: var(--fg); margin-right: 3px; }
.concern { margin: 12px 0 0; padding: 10px 14px; background: #ddf4ff; border-left: 4px solid #0969da; border-radius: 4px; }
.concern p { margin: 0; font-size: 15px; }
.concern cite { display: block; margin-top: 4px; font-style: normal; color: var(--muted); font-size: 12.5px; }
.problem { margin: 12px 0 0; padding: 10px 14px; border-radius: 4px; border: 1px solid var(--errored); background: var(--errored-bg); }
.problem.failed { border-color: var(--failed); background: var(--failed-bg); }
.problem.skipped { border-color: var(--skipped); background: var(--skipped-bg); }
.problem pre { background: transparent; border: 0; padding: 0; margin: 4px 0 0; max-height: none; }
.problem ul { margin: 4px 0 0; padding-left: 20px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 420px; overflow: auto; }
pre.step-msg { margin: 2px 0 0; padding: 0; border: 0; background: transparent; color: var(--failed); max-height: none; }
details { margin: 6px 0; }
details > summary { cursor: pointer; color: var(--muted); }
details > summary:hover { color: var(--fg); }
.finding > summary { color: var(--fg); }
.finding > summary code { font-size: 12.5px; }
.patterns { margin: 4px 0 8px; display: flex; gap: 6px; flex-wrap: wrap; }
.pattern { font-family: var(--mono); font-size: 12px; background: var(--failed-bg); color: var(--failed); border-radius: 4px; padding: 1px 7px; }
.artifacts a { margin-right: 14px; font-family: var(--mono); font-size: 12.5px; }
.ok-line { color: var(--passed); }
.bad-line { color: var(--failed); font-weight: 600; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
@media print { body { background: #fff; } pre { max-height: none; } .card { break-inside: avoid-page; } }
`;
