// `lab boot`, `lab exec`, `lab ssh`, `lab clean`: a guest for a person at a terminal.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootGuest, prepareGuest, resolveAccel } from '../lab.ts';
import { qemuArgv } from '../qemu/argv.ts';
import { machineProfile } from '../qemu/profile.ts';
import { isOurQemu, listVms, unregisterVm } from '../qemu/registry.ts';
import { GuestShell } from '../guest/ssh.ts';
import { processCleanup } from '../util/cleanup.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { UsageError } from '../util/errors.ts';
import { quoteArgv } from '../util/quote.ts';
import { kernelRequest, type Context, type KernelFlags } from './context.ts';

export interface GuestFlags extends KernelFlags {
  machine: string;
  append: string[];
  out?: string;
  dryRun?: boolean;
}

export function runDir(flags: { out?: string }, what: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return flags.out ?? join(process.cwd(), '.lab', 'runs', `${stamp}-${what}`);
}

async function bootFromFlags(ctx: Context, flags: GuestFlags, what: string, keep = false) {
  const profile = machineProfile(flags.machine);
  const dir = runDir(flags, what);
  const guest = await prepareGuest(kernelRequest(flags), ctx.cache, ctx.progress, ctx.signal);
  const verdict = await resolveAccel(ctx.cache, guest, dir, ctx.progress);
  if (flags.dryRun) {
    const argv = qemuArgv(profile, verdict.accel, { kernel: guest.kernel.vmlinux, initrd: join(dir, 'initrd.img'), serialLog: join(dir, 'serial.log'), pidFile: join(dir, 'qemu.pid'), qmpSocket: join(dir, 'qmp.sock'), sshPort: 0, name: 'lab-dry-run' }, flags.append);
    process.stdout.write(`${quoteArgv(argv)}\n`);
    return null;
  }
  const booted = await bootGuest({ guest, profile, accel: verdict.accel, dir, cache: ctx.cache, cleanup: processCleanup, progress: ctx.progress, extraCmdline: flags.append, keep, signal: ctx.signal });
  return { ...booted, dir, guest };
}

export async function execCommand(ctx: Context, flags: GuestFlags, command: string[]): Promise<number> {
  if (command.length === 0) throw new UsageError('lab exec needs a command after --, e.g. lab exec -- uname -r');
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
    process.stdout.write(`kept running (pid ${booted.machine.pid}). Shell: ./lab ssh   Stop: ./lab clean\n`);
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
  if (!vm) throw new UsageError('no kept guest is running', { hint: 'start one with ./lab boot --keep' });
  const privateKey = await readFile(String(vm.meta.privateKeyPath), 'utf8');
  const deadline = new Deadline('ssh', 10_000);
  const shell = await GuestShell.connect({ port: vm.sshPort, privateKey, deadline, alive: () => true });
  deadline.dispose();
  try {
    return await shell.interactive(command.length > 0 ? quoteArgv(command) : undefined);
  } finally {
    shell.close();
  }
}

/** Stops every QEMU the lab still has on record (kept guests, and strays of killed runs). */
export async function cleanCommand(ctx: Context): Promise<number> {
  let stopped = 0;
  for (const vm of await listVms(ctx.cache)) {
    if (await isOurQemu(vm)) {
      process.kill(vm.pid, 'SIGTERM');
      for (let i = 0; i < 40 && (await isOurQemu(vm)); i++) await sleep(50);
      if (await isOurQemu(vm)) process.kill(vm.pid, 'SIGKILL');
      stopped++;
      ctx.progress.info(`stopped QEMU pid ${vm.pid} (${vm.kept ? 'kept guest' : 'stray'}, ${vm.dir})`);
    }
    await unregisterVm(ctx.cache, vm.id);
  }
  ctx.progress.info(stopped === 0 ? 'no QEMU process of the lab is running' : `stopped ${stopped} QEMU process(es)`);
  return 0;
}
