// A stand-in for the lab in signals.test.ts: the lab's signal handling with a teardown that
// takes 600 ms, exiting 130 ("interrupted") as the CLI does; prints what happened.
import { installSignalHandlers, processCleanup } from '../../../src/util/cleanup.ts';

processCleanup.push('slow teardown', async () => {
  await new Promise((r) => setTimeout(r, 600));
  process.stdout.write('teardown done\n');
});
installSignalHandlers(
  (sig) => {
    process.stdout.write(`got ${sig}\n`);
    void processCleanup.run().finally(() => process.exit(130));
  },
  (sig) => process.stdout.write(`again ${sig}\n`),
);
process.stdout.write('ready\n');
setInterval(() => undefined, 1000);
