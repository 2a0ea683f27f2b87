#!/usr/bin/env node
// The `pod-identity` binary: runs the CLI on the process's streams and exits with its code.
import { runCli } from './run-cli.js';

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
});
process.exitCode = await runCli(process.argv.slice(2), { abortSignal: controller.signal });
