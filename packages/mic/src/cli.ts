#!/usr/bin/env node
// pod-identity-mic: parses flags and runs the controller; all logic is in runMicCli.
import { unsupportedNodeMessage } from '@pod-identity/core';

// The version check comes before the program's modules load: on an old Node.js they fail while loading.
// No top-level await: the daemon is built as one CommonJS file (tsup.config.ts).
const unsupported = unsupportedNodeMessage('pod-identity-mic');
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}

const stopRequested = new Promise<void>((resolve) => {
  process.once('SIGTERM', () => {
    resolve();
  });
  process.once('SIGINT', () => {
    resolve();
  });
});

import('./run-mic-cli.js')
  .then(({ runMicCli }) =>
    runMicCli(process.argv.slice(2), process.env, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stopRequested,
    }),
  )
  .then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `pod-identity-mic: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
