// Installs QEMU 10 into the lab's cache (never over the system's QEMU): see lab/src/image/qemu10.ts.
// Run: guest-images/vmm/fetch-qemu10.sh [--refresh]
import { ensureQemu10 } from '../../lab/src/image/qemu10.ts';
import { cacheRoot } from '../../lab/src/util/paths.ts';

const q = await ensureQemu10(cacheRoot(), { refresh: process.argv.includes('--refresh'), say: (line) => console.error(`qemu10: ${line}`) });
console.log(`QEMU ${q.version} in ${q.root}`);
console.log(`run it as: QEMU_MODULE_DIR=${q.moduleDir} ${q.binary} -L ${q.dataDir} ...`);
