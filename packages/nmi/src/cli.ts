#!/usr/bin/env node
// pod-identity-nmi: the NMI daemon; all logic is in runNmiCli. Exits 0 on a clean SIGTERM/SIGINT
// shutdown (rules removed), 1 if cleanup failed, 2 on bad usage.
import { unsupportedNodeMessage } from '@pod-identity/core';

// The version check comes before the program's modules load: on an old Node.js they fail while loading.
// No top-level await: the daemon is built as one CommonJS file (tsup.config.ts).
const unsupported = unsupportedNodeMessage('pod-identity-nmi');
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}

const stopRequested = new Promise<string>((resolve) => {
  process.once('SIGTERM', () => {
    resolve('SIGTERM');
  });
  process.once('SIGINT', () => {
    resolve('SIGINT');
  });
});

import('./run-nmi-cli.js')
  .then(({ runNmiCli }) =>
    runNmiCli(process.argv.slice(2), process.env, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stopRequested,
    }),
  )
  .then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `pod-identity-nmi: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
