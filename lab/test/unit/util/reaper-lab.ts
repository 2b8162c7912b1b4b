// A stand-in for the lab process in reaper.test.ts: spawns one command per mode through
// dieWithLab, prints {"mode", "pid"} per child as JSON lines, then waits to be SIGKILLed.
import { execa } from 'execa';
import { dieWithLab, type ReapMode } from '../../../src/util/reaper.ts';

const children: { mode: ReapMode; argv: string[] }[] = [
  { mode: 'process', argv: ['sleep', '60'] },
  // A tree: the guard's group holds this sh and its two sleeps, as make holds its compilers.
  { mode: 'group', argv: ['sh', '-c', 'sleep 61 & sleep 62 & wait'] },
];
for (const c of children) {
  const w = dieWithLab(c.argv, c.mode);
  const child = execa(w.file, w.args, { ...w.options, stdio: 'ignore', reject: false });
  process.stdout.write(`${JSON.stringify({ mode: c.mode, pid: child.pid })}\n`);
}
setInterval(() => undefined, 1000);
