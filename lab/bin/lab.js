#!/usr/bin/env node
// The lab CLI's entry. The TypeScript sources run without a build step a user must remember:
// they are bundled on demand with esbuild, with most of their dependencies, into
// lab/.bundle/<hash of the sources and the lockfile>/ (~0.5 s, once per change) and the bundle
// is what runs. Under tsx, every module — each of
// execa's, zod's, ora's small files too — went through tsx's loader thread: `./labw --help` took
// 2.0 s, 0.8 s bundled, and every command pays it. Scenarios stay TypeScript loaded by tsx, which
// is registered only when they are loaded (see ../src/scenario/loader.ts), and their import of
// lab/src/api.ts is pointed at the bundle's own api.mjs, so a scenario and the runner share one
// copy of each module. LAB_NO_BUNDLE=1 runs the sources under tsx as before.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const lab = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(lab, 'src');
const entries = { main: join(src, 'cli/main.ts'), api: join(src, 'api.ts') };

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  }).sort();
}

/** The bundle for these sources: found, or built into a fresh directory and renamed in place. */
async function bundle() {
  const hash = createHash('sha256');
  for (const file of sources(src)) hash.update(relative(src, file)).update('\0').update(readFileSync(file)).update('\0');
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  // The bundle carries the dependencies' code too: another npm ci is another bundle.
  hash.update(readFileSync(join(lab, '..', 'package-lock.json')));
  const root = join(lab, '.bundle');
  // Same depth below the repository as lab/src/util/, so paths.ts finds the root from either.
  const dir = join(root, hash.digest('hex').slice(0, 16));
  if (existsSync(join(dir, 'main.mjs'))) return dir;
  const { build } = await import('esbuild');
  const tmp = `${dir}.tmp-${process.pid}`;
  await build({
    entryPoints: entries,
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The dependencies are bundled too: resolving and loading execa's, zod's and ora's many
    // small ESM files was ~0.3 s of every command. Left out: the CommonJS packages that find
    // files beside themselves (__dirname: ssh2's agent, pino's transports, proper-lockfile),
    // the toolchain (esbuild, tsx, with binaries of their own), and native addons.
    external: ['ssh2', 'pino', 'proper-lockfile', 'esbuild', 'tsx', 'tsx/*', '*.node'],
    // Bundled CommonJS calls require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __labRequire } from 'node:module'; const require = __labRequire(import.meta.url);" },
    sourcemap: 'linked',
    logLevel: 'error',
  });
  try {
    renameSync(tmp, dir);
  } catch (error) {
    // Another lab built the same bundle at the same moment: theirs is as good as ours.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'main.mjs'))) throw error;
  }
  // Bundles of older sources are dead weight, but a lab started before the sources changed may
  // still load chunks from its own: remove only those a day old.
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (path !== dir && Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { recursive: true, force: true });
  }
  return dir;
}

if (process.env.LAB_NO_BUNDLE === '1') {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  await import('../src/cli/main.ts');
} else {
  const dir = await bundle();
  process.setSourceMapsEnabled(true);
  // Called by the scenario loader before it imports the first scenario.
  let registered = false;
  globalThis[Symbol.for('iommufd-lab.load-typescript')] = async () => {
    if (registered) return;
    registered = true;
    const { register: registerTsx } = await import('tsx/esm/api');
    registerTsx();
    // Registered last, so it runs first: the api.ts a scenario names resolves to the bundle's.
    // (LAB_BUNDLE_NO_REDIRECT=1 leaves it out: a test shows what the loader then refuses.)
    if (process.env.LAB_BUNDLE_NO_REDIRECT !== '1') register(pathToFileURL(join(lab, 'bin/api-redirect.mjs')), { data: { from: pathToFileURL(entries.api).href, to: pathToFileURL(join(dir, 'api.mjs')).href } });
  };
  await import(pathToFileURL(join(dir, 'main.mjs')).href);
}
