// bench/bisect: `./labw validate --each-runtime` on a 20-patch vfio/iommufd series whose patch
// K is the RFC regression model and every other patch a comment at the end of one of the
// subsystem's files (so each prefix is a real, different kernel). Prints the wall time, how
// many prefixes were built and run against the 19 a linear walk needs, and whether the first
// breaking patch was named. Goal: ≤ 15 min warm; O(log n) prefixes per regressed scenario.
// Run: ./labw bench bisect [--k N] [PATTERN…]   (default pattern: parked-fd, K = 13)
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { repoRoot } from '../lab/src/util/paths.ts';

const args = process.argv.slice(2);
const kAt = args.indexOf('--k');
const k = kAt >= 0 ? Number(args[kAt + 1]) : 13;
const patterns = args.filter((a, i) => !a.startsWith('--') && !(kAt >= 0 && i === kAt + 1));
const selection = patterns.length > 0 ? patterns : ['parked-fd'];
const total = 20;
const base = '/usr/src/linux-source-6.12.tar.xz';
const top = 'linux-source-6.12';
const model = join(repoRoot, 'kernel-patches/regressions/0001-rfc-ioctls-reach-parked-fd.patch');
// Files the comment patches touch: one each, none at the place the model changes.
const files = [
  'drivers/vfio/group.c', 'drivers/vfio/container.c', 'drivers/vfio/device_cdev.c', 'drivers/vfio/iommufd.c',
  'drivers/vfio/virqfd.c', 'drivers/vfio/pci/vfio_pci.c', 'drivers/vfio/pci/vfio_pci_core.c', 'drivers/vfio/pci/vfio_pci_config.c',
  'drivers/vfio/pci/vfio_pci_intrs.c', 'drivers/vfio/pci/vfio_pci_rdwr.c', 'drivers/iommu/iommufd/main.c', 'drivers/iommu/iommufd/device.c',
  'drivers/iommu/iommufd/ioas.c', 'drivers/iommu/iommufd/io_pagetable.c', 'drivers/iommu/iommufd/pages.c', 'drivers/iommu/iommufd/hw_pagetable.c',
  'drivers/iommu/iommufd/vfio_compat.c', 'drivers/iommu/iommufd/fault.c', 'drivers/iommu/iommufd/iova_bitmap.c',
];
if (!(k >= 1 && k <= total)) throw new Error(`--k ${k}: expected 1..${total}`);

$.verbose = false;
$.cwd = repoRoot;
$.env = { ...process.env, CI: '1', LAB_NO_BOOTSTRAP: '1' };

const work = mkdtempSync(join(tmpdir(), 'lab-bench-bisect-'));
const tree = join(work, 'tree');
mkdirSync(tree);
await $`tar -xJf ${base} -C ${tree} ${files.map((f) => `${top}/${f}`)}`;
const series = join(work, 'series');
mkdirSync(series);
const comments = [...files];
for (let i = 1; i <= total; i++) {
  const name = join(series, `${String(i).padStart(4, '0')}-patch.patch`);
  if (i === k) {
    copyFileSync(model, name);
    continue;
  }
  const file = comments.shift()!;
  const before = join(tree, top, file);
  const text = readFileSync(before, 'utf8');
  const after = `${before}.new`;
  writeFileSync(after, `${text}/* bench bisect: patch ${i} of ${total}, a comment only */\n`);
  const diff = (await $`diff -u --label a/${file} --label b/${file} ${before} ${after}`.nothrow()).stdout;
  writeFileSync(name, [
    'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
    'From: Bench <bench@example.invalid>',
    `Subject: [PATCH ${i}/${total}] ${file}: a comment for the bisect bench`,
    '',
    '---',
    `diff --git a/${file} b/${file}`,
    diff.trimEnd(),
    '-- ',
    '2.39.5',
    '',
  ].join('\n'));
}

await $`./labw kernel build`;
const out = join(work, 'out');
const t0 = Date.now();
const r = await $`./labw validate --each-runtime --series ${series} --out ${out} ${selection}`.nothrow();
const s = (Date.now() - t0) / 1000;
const bisected = /\(bisected: (\d+) of (\d+) prefixes run\)/.exec(r.stdout);
const named = r.stdout.split('\n').filter((l) => / first broken by patch /.test(l));
console.log(`series: ${total} patches, patch ${k} the RFC model; scenarios: ${selection.join(' ')}`);
console.log(`validate --each-runtime: ${s.toFixed(1)} s   (exit ${r.exitCode})`);
console.log(`prefixes run beside the tip: ${bisected ? `${bisected[1]} of ${bisected[2]}` : 'not reported'}   (a linear walk runs ${total - 1}; log2(${total}) = ${Math.log2(total).toFixed(1)})`);
for (const line of named) console.log(line);
console.log(`named patch ${k}: ${named.some((l) => new RegExp(`first broken by patch ${k}/${total} `).test(l)) ? 'yes' : 'NO'}   goal: ≤ 900 s warm`);
console.log(`(work: ${work})`);
