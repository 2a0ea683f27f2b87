#!/usr/bin/env node
// The `pod-identity` binary: runs the CLI on the process's streams and exits with its code.
import { unsupportedNodeMessage } from '@pod-identity/core';

// The version check comes before the program's modules load: on an old Node.js they fail while loading.
const unsupported = unsupportedNodeMessage('pod-identity');
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}
const { runCli } = await import('./run-cli.js');

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});
process.exitCode = await runCli(process.argv.slice(2), { abortSignal: controller.signal });
