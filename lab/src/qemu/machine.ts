// A running guest: QEMU spawned from a profile, registered for teardown the moment it exists,
// watched for an early exit (panic), and waited on until the init's ready marker appears.
// Unless it is kept (detached), QEMU gets SIGKILL from the kernel the moment the lab dies,
// however it dies (util/reaper.ts): a SIGKILLed lab leaves no guest behind.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { BootError, TimeoutError } from '../util/errors.ts';
import { Deadline, sleep } from '../util/deadline.ts';
import { log } from '../util/log.ts';
import { commandLine, launchPaths, qemuArgv, qemuEnvFor, type Accel, type LaunchPaths } from './argv.ts';
import { freePort } from './ports.ts';
import type { MachineProfile } from './profile.ts';
import { diagnoseExit, readSerial, readyMarker, tail } from './serial.ts';
import { registerVm, unregisterVm } from './registry.ts';
import { dieWithLab } from '../util/reaper.ts';

export interface StartOptions {
  profile: MachineProfile;
  accel: Accel;
  kernel: string;
  initrd: string;
  /** Where the serial log, pidfile, QMP socket and command line go. */
  dir: string;
  cache: string;
  extraCmdline?: string[];
  /** Leave QEMU running after this process exits (./labw boot --keep). */
  detached?: boolean;
  meta?: Record<string, unknown>;
}

/** How a QEMU process ended, in the words reports use: "QEMU exited (signal 9)", "… (status 1)". */
export function describeQemuExit(end: { exitCode?: number; signal?: string | null }): string {
  if (end.signal) {
    const n = constants.signals[end.signal as NodeJS.Signals];
    return `QEMU exited (signal ${n ?? end.signal})`;
  }
  return `QEMU exited (status ${end.exitCode ?? 'unknown'})`;
}

export class Machine {
  private exited = false;
  private exitInfo = '';
  private described: string | undefined;
  /** Settles once onExit has run: stop() waits on it rather than polling (~25 ms a teardown). */
  private readonly ended: Promise<void>;

  private constructor(
    readonly id: string,
    readonly argv: string[],
    /** What this QEMU was asked to build: scenarios read facts of the machine (its vIOMMU's width) here. */
    readonly profile: MachineProfile,
    readonly paths: LaunchPaths,
    private readonly child: ResultPromise,
    private readonly cache: string,
  ) {
    // execa rejects on non-zero exit; the machine reports exits through `exited` instead.
    this.ended = child.then(
      (r) => this.onExit(describeQemuExit(r), ''),
      (e: { exitCode?: number; signal?: string; stderr?: string }) => this.onExit(describeQemuExit(e), e.stderr ? String(e.stderr).trim() : ''),
    );
  }

  private onExit(description: string, stderr: string): void {
    this.exited = true;
    this.described = description;
    this.exitInfo = stderr ? `${description}: ${stderr}` : description;
    log().info({ vm: this.id, info: this.exitInfo }, 'qemu exited');
  }

  /** Waits up to ms for QEMU to exit; true if it has. */
  private async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    return this.exited;
  }

  /** "QEMU exited (signal 9)" / "QEMU exited (status 1)" once QEMU has exited; undefined while it runs. */
  get exitDescription(): string | undefined {
    return this.described;
  }

  /** The exit description followed by what QEMU wrote on stderr, if anything. */
  get exitDetail(): string | undefined {
    return this.exited ? this.exitInfo : undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get sshPort(): number {
    return this.paths.sshPort;
  }

  get serialLog(): string {
    return this.paths.serialLog;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Spawns QEMU; retries with another port if the SSH forward's port was taken meanwhile. */
  static async start(opts: StartOptions): Promise<Machine> {
    await mkdir(opts.dir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      const id = `lab-${process.pid}-${Date.now().toString(36)}`;
      // Nothing talks QMP today, but whoever can reach the socket can drive the guest (and the
      // host files it may open): it lives in a fresh 0700 directory (mkdtemp), not in /tmp itself.
      // A UNIX socket path must fit in 108 bytes, and run dirs can be deeper than that.
      const qmpDir = await mkdtemp(join(tmpdir(), 'lab-qmp-'));
      const paths: LaunchPaths = { ...launchPaths(opts.dir, { kernel: opts.kernel, qmpDir, sshPort: await freePort(), name: id }), initrd: opts.initrd };
      const argv = qemuArgv(opts.profile, opts.accel, paths, opts.extraCmdline);
      const env = qemuEnvFor(opts.profile);
      await writeFile(join(opts.dir, 'qemu-cmdline.sh'), `#!/bin/sh\n${commandLine(argv, env)}\n`, { mode: 0o755 });
      log().info({ vm: id, argv, env, qemu: opts.profile.qemu.version ?? opts.profile.qemu.name }, 'starting qemu');
      // A kept guest must outlive the lab, so it is only detached; any other dies with the lab.
      const spawn = opts.detached ? { file: argv[0]!, args: argv.slice(1), options: { detached: true } } : dieWithLab(argv);
      const child = execa(spawn.file, spawn.args, {
        reject: true,
        stdin: 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
        cleanup: !opts.detached,
        // On top of the lab's environment: an unpacked QEMU's module directory.
        env,
        ...spawn.options,
      });
      if (opts.detached) child.unref();
      const machine = new Machine(id, argv, opts.profile, paths, child, opts.cache);
      await registerVm(opts.cache, { id, pid: child.pid ?? -1, dir: opts.dir, sshPort: paths.sshPort, kept: Boolean(opts.detached), qmpDir, meta: opts.meta ?? {} });
      await sleep(150);
      if (machine.exited && /Could not set up host forwarding|hostfwd/.test(machine.exitInfo) && attempt < 3) {
        await unregisterVm(opts.cache, id);
        await rm(qmpDir, { recursive: true, force: true });
        continue;
      }
      return machine;
    }
  }

  /** Waits for the ready marker on the serial console; a QEMU exit ends the wait at once. */
  async waitReady(deadline: Deadline): Promise<{ ms: number; serial: string }> {
    const t0 = Date.now();
    for (;;) {
      const serial = await readSerial(this.paths.serialLog);
      if (serial.includes(readyMarker)) return { ms: Date.now() - t0, serial };
      if (this.exited) {
        await sleep(50);
        const final = await readSerial(this.paths.serialLog);
        throw new BootError(`${diagnoseExit(final)} (${this.exitInfo})`, tail(final), this.paths.serialLog);
      }
      if (deadline.expired()) {
        // Aborted by an interrupt rather than by the clock: pass that on as it is.
        if (deadline.signal.aborted && !(deadline.signal.reason instanceof TimeoutError)) throw deadline.signal.reason;
        throw new BootError(`boot: the guest did not reach its ready marker within ${(deadline.ms / 1000).toFixed(0)} s`, tail(serial), this.paths.serialLog, {
          hint: 'the serial log shows how far it got',
        });
      }
      // A read of a few kB: every 20 ms costs nothing, and the marker is seen ~15 ms sooner than at 50.
      await sleep(20);
    }
  }

  /**
   * Stops QEMU: SIGTERM, then SIGKILL if it lingers. Idempotent. A QEMU that outlives SIGKILL too
   * (stuck in the kernel) stays registered, for `./labw clean`, and the stop throws saying so.
   */
  async stop(): Promise<void> {
    if (!this.exited && this.child.pid) {
      this.child.kill('SIGTERM');
      if (!(await this.exitWithin(2000))) {
        this.child.kill('SIGKILL');
        if (!(await this.exitWithin(2000))) throw new Error(`QEMU ${this.id} (pid ${this.child.pid}) did not exit within 4 s of SIGTERM and SIGKILL; it is still registered for ./labw clean`);
      }
    }
    await unregisterVm(this.cache, this.id);
    await rm(dirname(this.paths.qmpSocket), { recursive: true, force: true });
  }
}
