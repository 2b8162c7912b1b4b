// `./labw kernel build`: base + series + config fragments → vmlinux, bzImage, uAPI headers,
// through the content-addressed cache.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { memoByStamps, resolveCommand } from '../util/memo.ts';
import { BuildProgress } from '../util/build-progress.ts';
import { processCleanup } from '../util/cleanup.ts';
import { Deadline } from '../util/deadline.ts';
import { ConfigError, TimeoutError } from '../util/errors.ts';
import { labFragment } from '../util/paths.ts';
import type { Progress } from '../util/progress.ts';
import { withPhase } from '../util/progress.ts';
import { Store } from '../util/store.ts';
import { materializeBase, parseBaseSpec, resolveBase, type ResolvedBase } from './base.ts';
import { applySeries } from './apply.ts';
import { buildKey, buildRecipe } from './cache-key.ts';
import { sha256 } from '../util/hash.ts';
import { checkConfig, configMap, explainDrops, mergeRequests, parseConfig } from './kconfig.ts';
import { configKey, previousBuild, recordBuild, type BuildCounts } from './build-counts.ts';
import { buildTimeout, buildTimeoutMs, claimWorkDir, sweepDeadWorkDirs } from './build-guard.ts';
import { execBuildTool, isObjectStep, kbuildStep, openBuildLog, runMake, type MakeContext } from './make.ts';
import type { Patch } from './mbox.ts';
import { loadSeries, parseSeriesSpec } from './series.ts';
import { flavourFragments } from './flavours.ts';
import { buildSelftests, compatHeader, selftestNames } from './selftests.ts';

export interface KernelRequest {
  base?: string;
  series: string[];
  configs: string[];
  /** make target producing the starting .config, before the fragments. */
  baseConfig: string;
  cwd: string;
  /** Named fragment set after the lab fragment (default "lab": none). */
  flavour?: string;
}

export interface Kernel {
  key: string;
  hit: boolean;
  dir: string;
  vmlinux: string;
  bzImage: string;
  /** What QEMU's -kernel gets: vmlinux through PVH (faster), bzImage where PVH cannot boot it (bootImage()). */
  boot: string;
  config: string;
  headers: string;
  /** Directory of the kernel's iommufd selftest binaries (null when the kernel has no IOMMUFD_TEST). */
  selftests: string | null;
  buildLog: string;
  release: string;
  base: string;
  patches: { index: number; subject: string; source: string; sha256: string }[];
  fragments: string[];
  compiler: string;
}

/** The first line of `gcc --version`: remembered while the gcc on PATH is the same file (util/memo.ts). */
export async function compilerVersion(): Promise<string> {
  const gcc = resolveCommand('gcc');
  return memoByStamps(`gcc --version ${gcc}`, async () => {
    const out = await execa('gcc', ['--version'], { reject: false });
    return { value: out.stdout.split('\n')[0] ?? 'unknown', files: out.exitCode === 0 && gcc ? [gcc] : [] };
  });
}

interface Prepared {
  base: ResolvedBase;
  patches: Patch[];
  fragments: { name: string; text: string }[];
  compiler: string;
  key: string;
}

export async function prepareKernelRequest(req: KernelRequest, cache: string): Promise<Prepared> {
  const base = await resolveBase(parseBaseSpec(req.base, req.cwd), cache);
  const patches: Patch[] = [];
  for (const s of req.series) for (const p of await loadSeries(parseSeriesSpec(s, req.cwd))) patches.push({ ...p, index: patches.length + 1 });
  const fragmentPaths = [labFragment, ...flavourFragments(req.flavour ?? 'lab'), ...req.configs.map((c) => resolve(req.cwd, c))];
  const fragments = [];
  for (const path of fragmentPaths) {
    if (!existsSync(path)) throw new ConfigError(`config fragment ${path}: no such file`);
    fragments.push({ name: path, text: await readFile(path, 'utf8') });
  }
  // The selftests' compat header is part of the recipe: editing it rebuilds them.
  const recipe = `${buildRecipe}; compat ${sha256(await readFile(compatHeader, 'utf8')).slice(0, 16)}`;
  const compiler = await compilerVersion();
  const key = buildKey({ baseIdentity: base.identity, patches, baseConfig: req.baseConfig, fragments, compiler, recipe });
  return { base, patches, fragments, compiler, key };
}

export async function buildKernel(req: KernelRequest, cache: string, progress: Progress, signal?: AbortSignal): Promise<Kernel> {
  const prep = await prepareKernelRequest(req, cache);
  const store = new Store(join(cache, 'kernels'));
  const title = `kernel ${prep.key.slice(0, 12)}: build`;
  const entry = await store.get(prep.key, (out) =>
    withPhase(
      progress,
      title,
      async (phase) => {
        const meter = new BuildProgress(progress, phase, title, { signal });
        try {
          return await buildInto(out, prep, req, cache, meter, signal);
        } finally {
          meter.stop();
        }
      },
      (meta) => `${meta.release}, ${meta.objects} objects`,
    ),
  );
  if (entry.hit) progress.info(`kernel ${prep.key.slice(0, 12)}: cache hit (${entry.manifest.meta.release})`);
  const dir = entry.dir;
  return {
    key: prep.key,
    hit: entry.hit,
    dir,
    vmlinux: join(dir, 'vmlinux'),
    bzImage: join(dir, 'bzImage'),
    boot: join(dir, bootImage(configMap(await readFile(join(dir, 'config'), 'utf8')))),
    config: join(dir, 'config'),
    headers: join(dir, 'headers/include'),
    selftests: existsSync(join(dir, 'selftests')) ? join(dir, 'selftests') : null,
    buildLog: join(dir, 'build.log'),
    release: String(entry.manifest.meta.release),
    base: prep.base.describe,
    patches: prep.patches.map((p) => ({ index: p.index, subject: p.subject, source: p.source, sha256: sha256(p.bytes) })),
    fragments: prep.fragments.map((f) => f.name),
    compiler: prep.compiler,
  };
}

async function buildInto(out: string, prep: Prepared, req: KernelRequest, cache: string, meter: BuildProgress, signal: AbortSignal | undefined) {
  const timeoutMs = buildTimeoutMs();
  const workRoot = join(cache, 'work');
  await sweepDeadWorkDirs(workRoot);
  const baseDir = await materializeBase(prep.base, cache);
  const work = join(workRoot, prep.key);
  const logPath = join(cache, 'logs', `build-${prep.key}.log`);
  const flavour = req.flavour ?? 'lab';
  const config = configKey({ baseIdentity: prep.base.identity, baseConfig: req.baseConfig, fragments: prep.fragments });
  const previous = await previousBuild(cache, config, flavour);
  const deadline = new Deadline('kernel build', timeoutMs, signal);
  // Runs one step of the build; past the deadline, the error names that step and the log.
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (deadline.signal.reason instanceof TimeoutError && !signal?.aborted) throw buildTimeout(name, timeoutMs, logPath);
      throw error;
    }
  };
  await mkdir(join(cache, 'logs'), { recursive: true });
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'patches'), { recursive: true });
  await claimWorkDir(work);
  const log = openBuildLog(logPath);
  let finished = false;
  // A signal ends the process as soon as the cleanup stack has run: the work dir and the
  // half-filled entry must go there, not in a finally that would never be reached.
  processCleanup.push(`kernel build ${prep.key.slice(0, 12)}`, async () => {
    if (finished) return;
    // The build's process group is being killed as this runs: retry what it still writes.
    await rm(work, { recursive: true, force: true, maxRetries: 5 });
    await rm(out, { recursive: true, force: true, maxRetries: 5 });
  });
  const ctx: MakeContext = {
    srcDir: join(work, 'src'),
    buildDir: join(work, 'build'),
    logPath,
    log,
    ccacheDir: join(cache, 'ccache'),
    ccacheBaseDir: work,
    signal: deadline.signal,
    onLine: (line) => {
      const s = kbuildStep(line);
      if (isObjectStep(s)) meter.advance(`${s!.tag} ${s!.target}`);
      else if (s) meter.detail(`${s.tag} ${s.target}`);
    },
  };
  try {
    log.write(`# iommufd-lab kernel build ${prep.key}\n# base: ${prep.base.describe}\n`);
    meter.detail('copying base tree');
    await step('copying the base tree', () => execBuildTool(['cp', '-al', `${baseDir}/.`, ctx.srcDir], { cancelSignal: deadline.signal }));
    meter.detail(`applying ${prep.patches.length} patch(es)`);
    await step('applying the series', () => applySeries(prep.patches, ctx.srcDir, join(work, 'patches'), deadline.signal));
    await mkdir(ctx.buildDir, { recursive: true });
    const makeT0 = Date.now();
    meter.begin('make', { unit: 'objects', expected: previous?.objects, previousMs: previous?.counts.makeMs });
    await step('configure', () => configure(ctx, prep, req.baseConfig));
    await step('make vmlinux bzImage', () => runMake(ctx, ['vmlinux', 'bzImage']));
    await step('make headers_install', () => runMake(ctx, ['headers_install'], [`INSTALL_HDR_PATH=${join(out, 'headers')}`]));
    const counts: BuildCounts = { objects: meter.done, makeMs: Date.now() - makeT0, key: prep.key, recordedAt: '' };
    const finalConfig = configMap(await readFile(join(ctx.buildDir, '.config'), 'utf8'));
    if (finalConfig.get('CONFIG_IOMMUFD_TEST') === 'y') {
      const t0 = Date.now();
      meter.begin('selftests', { unit: 'programs', expected: { count: selftestNames.length, estimated: false }, previousMs: previous?.counts.selftestMs });
      await step('the iommufd selftests', () =>
        buildSelftests(ctx.srcDir, join(out, 'headers/include'), join(out, 'selftests'), logPath, {
          signal: deadline.signal,
          onProgram: (name, state) => (state === 'start' ? meter.detail(`gcc ${name}.c`) : meter.advance()),
        }),
      );
      counts.selftestMs = Date.now() - t0;
    }
    const release = (await step('make kernelrelease', () => execBuildTool(['make', '-s', '-C', ctx.srcDir, `O=${ctx.buildDir}`, 'kernelrelease'], { cancelSignal: deadline.signal }))).stdout.trim();
    await copyFile(join(ctx.buildDir, 'vmlinux'), join(out, 'vmlinux'));
    await copyFile(join(ctx.buildDir, 'arch/x86/boot/bzImage'), join(out, 'bzImage'));
    await copyFile(join(ctx.buildDir, '.config'), join(out, 'config'));
    await new Promise((r) => log.end(r));
    await copyFile(logPath, join(out, 'build.log'));
    await recordBuild(cache, config, flavour, { ...counts, recordedAt: new Date().toISOString() });
    return {
      release,
      objects: counts.objects,
      base: prep.base.describe,
      baseConfig: req.baseConfig,
      fragments: prep.fragments.map((f) => basename(f.name)),
      patches: prep.patches.map((p) => ({ index: p.index, subject: p.subject, source: p.source })),
    };
  } finally {
    deadline.dispose();
    if (!log.closed) log.end();
    await rm(work, { recursive: true, force: true });
    finished = true;
  }
}

async function configure(ctx: MakeContext, prep: Prepared, baseConfig: string): Promise<void> {
  await runMake(ctx, [baseConfig]);
  // merge_config.sh splits its arguments on spaces: hand it copies at paths without any.
  const fragmentFiles = await Promise.all(prep.fragments.map(async (f, i) => {
    const copy = join(ctx.buildDir, `lab-fragment-${i + 1}.config`);
    await writeFile(copy, f.text);
    return copy;
  }));
  const merge = await execBuildTool(['bash', join(ctx.srcDir, 'scripts/kconfig/merge_config.sh'), '-m', '-O', ctx.buildDir, join(ctx.buildDir, '.config'), ...fragmentFiles], {
    cwd: ctx.buildDir,
    stdin: 'ignore',
    reject: false,
    cancelSignal: ctx.signal,
  });
  if (merge.isCanceled) throw ctx.signal?.reason ?? new Error('merge_config.sh cancelled');
  ctx.log.write(`${merge.stdout}\n${merge.stderr}\n`);
  if (merge.exitCode !== 0) throw new ConfigError(`merge_config.sh failed: ${merge.stderr.trim() || merge.stdout.trim()}`);
  await runMake(ctx, ['olddefconfig']);
  const final = configMap(await readFile(join(ctx.buildDir, '.config'), 'utf8'));
  const requests = mergeRequests(prep.fragments.map((f) => parseConfig(f.text, f.name)));
  const mismatches = checkConfig(requests, final);
  if (mismatches.length > 0) {
    const reasons = await explainDrops(ctx.srcDir, mismatches);
    throw new ConfigError(`the kernel config dropped ${mismatches.length} requested option(s):\n  ${reasons.join('\n  ')}`, {
      hint: 'fix the fragment: enable the dependencies it names, or remove the option',
    });
  }
}

/**
 * The image to boot: the uncompressed vmlinux through its PVH entry reaches /init ~0.7 s sooner
 * under TCG than bzImage, but a KASAN kernel does not boot that way (measured on 6.12: QEMU exits
 * at once with status 0 and not one byte on the console, while its bzImage boots), so a kernel
 * with KASAN boots its bzImage.
 */
export function bootImage(config: ReadonlyMap<string, string>): 'vmlinux' | 'bzImage' {
  return config.get('CONFIG_KASAN') === 'y' ? 'bzImage' : 'vmlinux';
}
