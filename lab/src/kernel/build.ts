// `lab kernel build`: base + series + config fragments → vmlinux, bzImage, uAPI headers,
// through the content-addressed cache.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { ConfigError } from '../util/errors.ts';
import { labFragment } from '../util/paths.ts';
import type { Progress } from '../util/progress.ts';
import { withPhase } from '../util/progress.ts';
import { Store } from '../util/store.ts';
import { materializeBase, parseBaseSpec, resolveBase, type ResolvedBase } from './base.ts';
import { applySeries } from './apply.ts';
import { buildKey, buildRecipe } from './cache-key.ts';
import { sha256 } from '../util/hash.ts';
import { checkConfig, configMap, explainDrops, mergeRequests, parseConfig } from './kconfig.ts';
import { openBuildLog, runMake, type MakeContext } from './make.ts';
import type { Patch } from './mbox.ts';
import { loadSeries, parseSeriesSpec } from './series.ts';
import { flavourFragments } from './flavours.ts';
import { buildSelftests, compatHeader } from './selftests.ts';

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
  config: string;
  headers: string;
  /** Directory of the kernel's iommufd selftest binaries (selftest flavour only). */
  selftests: string | null;
  buildLog: string;
  release: string;
  base: string;
  patches: { index: number; subject: string; source: string; sha256: string }[];
  fragments: string[];
  compiler: string;
}

export async function compilerVersion(): Promise<string> {
  const out = await execa('gcc', ['--version'], { reject: false });
  return out.stdout.split('\n')[0] ?? 'unknown';
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
  const entry = await store.get(prep.key, (out) =>
    withPhase(progress, `kernel ${prep.key.slice(0, 12)}: build`, (phase) => buildInto(out, prep, req, cache, signal, (l) => phase.update(l)), (meta) => `${meta.release}`),
  );
  if (entry.hit) progress.info(`kernel ${prep.key.slice(0, 12)}: cache hit (${entry.manifest.meta.release})`);
  const dir = entry.dir;
  return {
    key: prep.key,
    hit: entry.hit,
    dir,
    vmlinux: join(dir, 'vmlinux'),
    bzImage: join(dir, 'bzImage'),
    config: join(dir, 'config'),
    headers: join(dir, 'headers/include'),
    selftests: existsSync(join(dir, 'selftests')) ? join(dir, 'selftests') : null,
    buildLog: join(dir, 'build.log'),
    release: String(entry.manifest.meta.release),
    base: prep.base.describe,
    patches: prep.patches.map((p) => ({ index: p.index, subject: p.subject, source: p.source, sha256: sha256(p.text) })),
    fragments: prep.fragments.map((f) => f.name),
    compiler: prep.compiler,
  };
}

async function buildInto(out: string, prep: Prepared, req: KernelRequest, cache: string, signal: AbortSignal | undefined, onLine: (l: string) => void) {
  const baseDir = await materializeBase(prep.base, cache);
  const work = join(cache, 'work', prep.key);
  const logPath = join(cache, 'logs', `build-${prep.key}.log`);
  await mkdir(join(cache, 'logs'), { recursive: true });
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'patches'), { recursive: true });
  const log = openBuildLog(logPath);
  const ctx: MakeContext = {
    srcDir: join(work, 'src'),
    buildDir: join(work, 'build'),
    logPath,
    log,
    ccacheDir: join(cache, 'ccache'),
    ccacheBaseDir: work,
    signal,
    onLine: (line) => {
      const m = /^\s+([A-Z]+)\s+(\S+)/.exec(line);
      if (m) onLine(`${m[1]} ${m[2]}`);
    },
  };
  try {
    log.write(`# iommufd-lab kernel build ${prep.key}\n# base: ${prep.base.describe}\n`);
    onLine('copying base tree');
    await execa('cp', ['-al', `${baseDir}/.`, ctx.srcDir], { cancelSignal: signal });
    onLine(`applying ${prep.patches.length} patch(es)`);
    await applySeries(prep.patches, ctx.srcDir, join(work, 'patches'), signal);
    await mkdir(ctx.buildDir, { recursive: true });
    await configure(ctx, prep, req.baseConfig);
    await runMake(ctx, ['vmlinux', 'bzImage']);
    await runMake(ctx, ['headers_install'], [`INSTALL_HDR_PATH=${join(out, 'headers')}`]);
    const finalConfig = configMap(await readFile(join(ctx.buildDir, '.config'), 'utf8'));
    if (finalConfig.get('CONFIG_IOMMUFD_TEST') === 'y') {
      onLine('building the iommufd selftests');
      await buildSelftests(ctx.srcDir, join(out, 'headers/include'), join(out, 'selftests'), logPath);
    }
    const release = (await execa('make', ['-s', '-C', ctx.srcDir, `O=${ctx.buildDir}`, 'kernelrelease'])).stdout.trim();
    await copyFile(join(ctx.buildDir, 'vmlinux'), join(out, 'vmlinux'));
    await copyFile(join(ctx.buildDir, 'arch/x86/boot/bzImage'), join(out, 'bzImage'));
    await copyFile(join(ctx.buildDir, '.config'), join(out, 'config'));
    await new Promise((r) => log.end(r));
    await copyFile(logPath, join(out, 'build.log'));
    return {
      release,
      base: prep.base.describe,
      baseConfig: req.baseConfig,
      fragments: prep.fragments.map((f) => basename(f.name)),
      patches: prep.patches.map((p) => ({ index: p.index, subject: p.subject, source: p.source })),
    };
  } finally {
    if (!log.closed) log.end();
    await rm(work, { recursive: true, force: true });
  }
}

async function configure(ctx: MakeContext, prep: Prepared, baseConfig: string): Promise<void> {
  await runMake(ctx, [baseConfig]);
  const fragmentFiles = prep.fragments.map((f) => f.name);
  const merge = await execa('bash', [join(ctx.srcDir, 'scripts/kconfig/merge_config.sh'), '-m', '-O', ctx.buildDir, join(ctx.buildDir, '.config'), ...fragmentFiles], {
    cwd: ctx.buildDir,
    reject: false,
  });
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
