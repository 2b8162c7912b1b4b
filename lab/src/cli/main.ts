// The `lab` command line: commander wiring only. Each action turns flags into a resolved
// request and calls the library; exit codes: 0 ok, 1 failed, 2 infrastructure/usage,
// 128 + signal when interrupted (130 Ctrl-C, 143 SIGTERM).
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { buildKernel } from '../kernel/build.ts';
import { prepareGuest } from '../lab.ts';
import { variantNames } from '../qemu/profile.ts';
import { sweepDeadRecords } from '../qemu/registry.ts';
import { installSignalHandlers, processCleanup } from '../util/cleanup.ts';
import { sleep } from '../util/deadline.ts';
import { ExitCode } from '../util/errors.ts';
import { log } from '../util/log.ts';
import { cacheRoot } from '../util/paths.ts';
import { Store } from '../util/store.ts';
import { kernelRequest, makeContext, runCommand, withKernelOptions, withQemuOption, type KernelFlags, type QemuFlags } from './context.ts';
import { formatChecks, runChecks } from './doctor.ts';
import { bootCommand, cleanCommand, execCommand, sshCommand, type GuestFlags } from './guest-commands.ts';
import { teethCommand } from './teeth-command.ts';
import { validateCommand, type ValidateFlags } from './validate-command.ts';
import { listCommand, mergeCommand, runScenariosCommand, type RunFlags } from './run-command.ts';

/** After an interrupt, how long the command gets to wind down by itself before the lab tears down. */
const WIND_DOWN_MS = 10_000;
/** …and how long that teardown may take before the lab exits anyway (its guests die with it). */
const TEARDOWN_MS = 30_000;

// Installed before any command (runCommand's own install is then a no-op). The command sees
// interruptSignal and ends itself, so the scenario that was running is reported as interrupted
// and the reports are written; only one that does not end in time is torn down from here.
installSignalHandlers((sig) => {
  process.stderr.write(`\n${sig}: stopping…\n`);
  setTimeout(() => {
    process.stderr.write(`${sig}: still not stopped after ${WIND_DOWN_MS / 1000} s; tearing down\n`);
    void Promise.race([processCleanup.run(), sleep(TEARDOWN_MS)]).finally(() => process.exit(ExitCode.interrupted));
  }, WIND_DOWN_MS);
});

/** What dead lab processes left behind: registry records of guests that died with them, half-built cache entries, locks. */
async function sweepLeftovers(): Promise<void> {
  const cache = cacheRoot();
  try {
    await sweepDeadRecords(cache);
    for (const store of ['kernels', 'images']) await new Store(join(cache, store)).sweep();
  } catch (error) {
    log().warn({ err: error }, 'sweeping leftovers of dead lab processes failed');
  }
}

const program = new Command('labw')
  .description('iommufd-lab: build a patched kernel, boot it behind an emulated Intel IOMMU, and test the VFIO cdev / iommufd contract')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : ExitCode.infra))
  .hook('preAction', sweepLeftovers);

program
  .command('doctor')
  .description('check every prerequisite; non-zero exit if one is missing')
  .action(() =>
    runCommand(async () => {
      const ctx = makeContext();
      const checks = await runChecks(ctx.cache);
      process.stdout.write(`${formatChecks(checks)}\n`);
      return checks.every((c) => c.ok) ? 0 : ExitCode.infra;
    }),
  );

const kernel = program.command('kernel').description('kernel builds');
withKernelOptions(kernel.command('build').description('build (or find in the cache) a kernel: base + series + config'))
  .option('--json', 'print the result as JSON on stdout')
  .action((flags: KernelFlags & { json?: boolean }) =>
    runCommand(async () => {
      const ctx = makeContext();
      const k = await buildKernel(kernelRequest(flags), ctx.cache, ctx.progress, ctx.signal);
      process.stdout.write(flags.json ? `${JSON.stringify(k, null, 2)}\n` : `${k.release} ${k.hit ? '(cache hit)' : '(built)'}\n  vmlinux ${k.vmlinux}\n  headers ${k.headers}\n  log     ${k.buildLog}\n`);
      return 0;
    }),
  );

const image = program.command('image').description('guest images');
withKernelOptions(image.command('build').description('build (or find in the cache) the guest initramfs for a kernel'))
  .action((flags: KernelFlags) =>
    runCommand(async () => {
      const ctx = makeContext();
      const g = await prepareGuest(kernelRequest(flags), ctx.cache, ctx.progress, ctx.signal);
      process.stdout.write(`base  ${g.baseImage}\nprobe ${g.probeImage}\n`);
      return 0;
    }),
  );

/** The commands that boot guests: the kernel options and --qemu. */
const withBootOptions = (cmd: Command) => withQemuOption(withKernelOptions(cmd));

const withGuestOptions = (cmd: Command) =>
  withBootOptions(cmd)
    .addOption(new Option('--machine <variant>', 'machine profile variant').choices(variantNames).default('default'))
    .option('--append <arg>', 'extra guest kernel command-line argument (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--out <dir>', 'run directory for logs (default .lab/runs/<time>-<cmd>)')
    .option('--dry-run', 'print the QEMU command line instead of booting');

withGuestOptions(program.command('boot').description('boot a guest and wait (or leave it running with --keep)'))
  .option('--keep', 'leave the guest running; reach it with `./labw ssh`, stop it with `./labw clean`')
  .action((flags: GuestFlags & { keep?: boolean }) => runCommand(() => bootCommand(makeContext(), flags)));

withGuestOptions(program.command('exec').description('boot a guest, run one command in it, tear it down; exits with its status'))
  .argument('<command...>', 'command to run in the guest (after --)')
  .action((command: string[], flags: GuestFlags) => runCommand(() => execCommand(makeContext(), flags, command)));

program
  .command('ssh')
  .description('a shell (or one command) in the guest kept by `./labw boot --keep`')
  .argument('[command...]', 'command to run instead of a shell')
  .action((command: string[]) => runCommand(() => sshCommand(makeContext({ quiet: true }), command)));

program
  .command('clean')
  .description('stop every QEMU process the lab started and still has on record')
  .action(() => runCommand(() => cleanCommand(makeContext())));

withBootOptions(program.command('run').description('build, boot and run the scenarios (all, or those matching PATTERN: an id substring or tag:NAME)'))
  .argument('[pattern...]', 'scenario id substrings or tag:NAME')
  .addOption(new Option('--machine <variant>', 'run every scenario on this machine variant').choices(variantNames))
  .option('--jobs <n>', 'guests run in parallel: a number, or auto (one per core, as memory allows for the largest guest and the guests booted ahead)', 'auto')
  .option('--reporter <name[=path]>', 'line, plain, junit[=PATH], tap[=PATH], json[=PATH], html[=PATH] (repeatable)', (v: string, p: string[]) => [...p, v], [])
  .option('--out <dir>', 'run directory (default .lab/runs/<time>-run)')
  .option('--keep-failed', 'leave the guest of each failed scenario running (./labw ssh; ./labw clean stops them)')
  .option('--no-reuse-guests', 'boot a fresh guest for every scenario (default: a guest is handed on after a checked reset)')
  .option('--resume <dir>', 'continue an interrupted run in DIR: keep its finished results, run the rest')
  .option('--shard <I/N>', 'run only shard I of N of the planned jobs (N machines share a run; merge with `report merge`)')
  .action((patterns: string[], flags: RunFlags) => runCommand(() => runScenariosCommand(makeContext(), patterns, flags)));

withBootOptions(program.command('teeth').description('run every regression model in kernel-patches/regressions/ and check that the scenarios it names fail, and only those'))
  .option('--jobs <n>', 'guests run in parallel: a number, or auto (one per core, as memory allows for the largest guest and the guests booted ahead)', 'auto')
  .option('--out <dir>', 'run directory (default .lab/runs/<time>-teeth)')
  .action((flags: KernelFlags & QemuFlags & { jobs: string; out?: string }) => runCommand(() => teethCommand(makeContext(), flags)));

withBootOptions(program.command('validate').description('baseline vs tip for a series; --each builds every prefix, --each-runtime bisects the prefixes for each regression'))
  .argument('[pattern...]', 'scenario id substrings or tag:NAME')
  .option('--each', 'build every prefix of the series; name the first patch that breaks the build, and new warnings per patch')
  .option('--each-runtime', 'for each regressed scenario, build and run O(log n) prefixes (like git bisect run): which patch first breaks it')
  .option('--jobs <n>', 'guests run in parallel: a number, or auto (one per core, as memory allows for the largest guest and the guests booted ahead)', 'auto')
  .option('--out <dir>', 'run directory (default .lab/runs/<time>-validate)')
  .option('--resume <dir>', 'continue an interrupted validate in DIR: finished sessions and scenarios are kept')
  .action((patterns: string[], flags: ValidateFlags) => runCommand(() => validateCommand(makeContext(), patterns, flags)));

const report = program.command('report').description('reports of finished runs');
report
  .command('merge')
  .description('combine the JSON reports of several run directories (shards) into one set of reports')
  .argument('<dir...>', 'run directories holding report.json')
  .option('--out <dir>', 'where the merged reports go (default .lab/runs/<time>-merged)')
  .option('--reporter <name[=path]>', 'extra reporters, as for run (repeatable)', (v: string, p: string[]) => [...p, v], [])
  .action((dirs: string[], flags: { out?: string; reporter: string[] }) => runCommand(() => mergeCommand(makeContext(), dirs, flags)));

program
  .command('list')
  .description('list the scenarios: devices, machine, tags and the review concern each encodes')
  .argument('[pattern...]', 'scenario id substrings or tag:NAME')
  .option('--json', 'as JSON')
  .action((patterns: string[], flags: { json?: boolean }) => runCommand(() => listCommand(patterns, Boolean(flags.json))));

await program.parseAsync(process.argv);
