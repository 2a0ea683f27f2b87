#!/usr/bin/env node
// pod-identity-mic: parses flags and runs the controller; all logic is in runMicCli.
import { unsupportedNodeMessage } from '@pod-identity/core';

// The version check comes before the program's modules load: on an old Node.js they fail while loading.
const unsupported = unsupportedNodeMessage('pod-identity-mic');
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}
const { runMicCli } = await import('./run-mic-cli.js');

const stopRequested = new Promise<void>((resolve) => {
  process.once('SIGTERM', () => {
    resolve();
  });
  process.once('SIGINT', () => {
    resolve();
  });
});

const code = await runMicCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stopRequested,
});
process.exit(code);
