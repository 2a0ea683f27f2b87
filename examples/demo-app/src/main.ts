#!/usr/bin/env node
// The demo container's entry point: every period (or once) acquire a token, list VMs, read metadata.
import { createRequire } from 'node:module';
import { DEMO_USAGE, demoCommand, parseDemoOptions } from './demo-options.ts';
import { runDemoRound } from './run-demo.ts';

const controller = new AbortController();
process.once('SIGTERM', () => {
  controller.abort();
});

const command = demoCommand(process.argv.slice(2));
if (command === 'help') {
  process.stdout.write(DEMO_USAGE);
  process.exit(0);
}
if (command === 'version') {
  const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
  console.log(version);
  process.exit(0);
}

let options;
try {
  options = parseDemoOptions(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`demo: ${(error as Error).message}\n\n${DEMO_USAGE}`);
  process.exit(2);
}
console.log(
  `demo pod ${process.env.MY_POD_NAMESPACE ?? '?'}/${process.env.MY_POD_NAME ?? '?'} (${process.env.MY_POD_IP ?? '?'}) using identity ${options.clientId}`,
);
for (;;) {
  try {
    await runDemoRound({ ...options, abortSignal: controller.signal });
    if (options.once) break;
  } catch (error) {
    console.error(`demo round failed: ${(error as Error).message}`);
    if (options.once || controller.signal.aborted) {
      process.exitCode = 1;
      break;
    }
  }
  await new Promise((resolve) => setTimeout(resolve, options.periodMs));
  if (controller.signal.aborted) break;
}
