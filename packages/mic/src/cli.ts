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

// No top-level await: the daemon is built as one CommonJS file (tsup.config.ts).
runMicCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stopRequested,
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `pod-identity-mic: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
