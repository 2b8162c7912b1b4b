// `./labw boot`, `./labw exec`, `./labw ssh`, `./labw clean`: a guest for a person at a terminal.
import { chmodSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { bootGuest, prepareGuest, resolveAccel } from '../lab.ts';
import { commandLine, launchPaths, qemuArgv, qemuEnvFor } from '../qemu/argv.ts';
import { machineProfile } from '../qemu/profile.ts';
import { forgetVm, isOurQemu, listVms, ownerRunning } from '../qemu/registry.ts';
import { GuestShell } from '../guest/ssh.ts';
import { processCleanup } from '../util/cleanup.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { UsageError } from '../util/errors.ts';
import { quoteArgv } from '../util/quote.ts';
import { kernelRequest, type Context, type KernelFlags, type QemuFlags } from './context.ts';
import { resolveQemu } from './qemu-target.ts';

export interface GuestFlags extends KernelFlags, QemuFlags {
  machine: string;
  append: string[];
  out?: string;
  dryRun?: boolean;
}

/**
 * Creates (if need be) the run directory for a command and returns its absolute path. A default
 * one is new, never shared: two commands that start in the same millisecond (both released by
 * the same cache lock, as two `exec`s on one base were in CI) would otherwise write one key, one
 * console log. mkdir without `recursive` fails on an existing leaf, so the second takes "-2".
 */
export function runDir(flags: { out?: string }, what: string, now = new Date()): string {
  if (flags.out) return ensureRunDir(flags.out);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  const parent = join(process.cwd(), '.lab', 'runs');
  mkdirSync(parent, { recursive: true });
  for (let n = 1; ; n++) {
    const dir = join(parent, `${stamp}-${what}${n > 1 ? `-${n}` : ''}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    return ensureRunDir(dir);
  }
}

/**
 * A run directory holds the guest's SSH private key, its console and the kernel's logs: it is
 * 0700 whatever the umask (mkdir's mode is masked by it, so the mode is set again). An existing
 * directory given as --out or --resume is made 0700 too: it is the run directory from now on.
 */
export function ensureRunDir(dir: string): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  chmodSync(abs, 0o700);
  return abs;
}

async function bootFromFlags(ctx: Context, flags: GuestFlags, what: string, keep = false) {
  const dir = runDir(flags, what);
  // Independent lookups, side by side: `qemu --version` is a process start the cache checks need not wait for.
  const [qemu, guest] = await Promise.all([
    resolveQemu(flags.qemu, ctx.cache, (line) => ctx.progress.info(line)),
    prepareGuest(kernelRequest(flags), ctx.cache, ctx.progress, ctx.signal),
  ]);
  const profile = machineProfile(flags.machine, { qemu });
  const verdict = await resolveAccel(ctx.cache, guest, dir, ctx.progress);
  if (flags.dryRun) {
    // What Machine.start would run; the port, the name and the QMP directory are chosen at start.
    const paths = launchPaths(dir, { kernel: guest.kernel.boot, qmpDir: join(tmpdir(), 'lab-qmp-XXXXXX'), sshPort: 0, name: 'lab-dry-run' });
    const argv = qemuArgv(profile, verdict.accel, paths, flags.append);
    process.stdout.write(`${commandLine(argv, qemuEnvFor(profile))}\n`);
    return null;
  }
  const booted = await bootGuest({ guest, profile, accel: verdict.accel, dir, cache: ctx.cache, cleanup: processCleanup, progress: ctx.progress, extraCmdline: flags.append, keep, signal: ctx.signal });
  return { ...booted, dir, guest };
}

export async function execCommand(ctx: Context, flags: GuestFlags, command: string[]): Promise<number> {
  if (command.length === 0) throw new UsageError('./labw exec needs a command after --, e.g. ./labw exec -- uname -r');
  const booted = await bootFromFlags(ctx, flags, 'exec');
  if (!booted) return 0;
  // A single word runs as is; several are quoted as argv, like ssh does.
  const r = await booted.vm.exec(command.length === 1 ? command[0]! : quoteArgv(command));
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.exitCode;
}

export async function bootCommand(ctx: Context, flags: GuestFlags & { keep?: boolean }): Promise<number> {
  const booted = await bootFromFlags(ctx, flags, 'boot', flags.keep);
  if (!booted) return 0;
  const r = await booted.vm.exec('uname -r; cat /proc/cmdline');
  process.stdout.write(`guest up: kernel ${r.stdout.split('\n')[0]}, ssh 127.0.0.1:${booted.machine.sshPort}, serial ${booted.machine.serialLog}\n`);
  if (flags.keep) {
    booted.vm.shell.close();
    process.stdout.write(`kept running (pid ${booted.machine.pid}). Shell: ./labw ssh   Stop: ./labw clean\n`);
    return 0;
  }
  process.stdout.write('booted; press Ctrl-C to stop it\n');
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  return 130;
}

export async function sshCommand(ctx: Context, command: string[]): Promise<number> {
  const kept = [];
  for (const vm of await listVms(ctx.cache)) if (vm.kept && (await isOurQemu(vm))) kept.push(vm);
  const vm = kept.at(-1);
  if (!vm) throw new UsageError('no kept guest is running', { hint: 'start one with ./labw boot --keep' });
  const privateKey = await readFile(String(vm.meta.privateKeyPath), 'utf8');
  const deadline = new Deadline('ssh', 10_000);
  const shell = await GuestShell.connect({ port: vm.sshPort, privateKey, deadline, alive: () => true, hostKey: vm.meta.hostKey as string | undefined });
  deadline.dispose();
  try {
    return await shell.interactive(command.length > 0 ? quoteArgv(command) : undefined);
  } finally {
    shell.close();
  }
}

/**
 * Stops the QEMUs the lab has on record whose owning lab process is gone: kept guests (their
 * `./labw boot --keep` has returned) and strays of killed runs. A guest whose lab still runs — a
 * run in another terminal, a `boot` waiting for Ctrl-C — is that lab's to stop: left alone.
 */
export async function cleanCommand(ctx: Context): Promise<number> {
  let stopped = 0;
  let busy = 0;
  for (const vm of await listVms(ctx.cache)) {
    if (ownerRunning(vm)) {
      busy++;
      ctx.progress.info(`left QEMU pid ${vm.pid} running: its lab process ${vm.owner!.pid} is still running (${vm.dir})`);
      continue;
    }
    if (await isOurQemu(vm)) {
      process.kill(vm.pid, 'SIGTERM');
      for (let i = 0; i < 40 && (await isOurQemu(vm)); i++) await sleep(50);
      if (await isOurQemu(vm)) process.kill(vm.pid, 'SIGKILL');
      stopped++;
      ctx.progress.info(`stopped QEMU pid ${vm.pid} (${vm.kept ? 'kept guest' : 'stray'}, ${vm.dir})`);
    }
    await forgetVm(ctx.cache, vm);
  }
  ctx.progress.info(stopped === 0 ? 'no QEMU process of the lab needed stopping' : `stopped ${stopped} QEMU process(es)`);
  if (busy) ctx.progress.info(`${busy} guest(s) belong to lab processes still running; they stop with them`);
  return 0;
}
