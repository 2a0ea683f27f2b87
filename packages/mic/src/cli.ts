#!/usr/bin/env node
// pod-identity-mic: parses flags and runs the controller; all logic is in runMicCli.
import { runMicCli } from './run-mic-cli.js';

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
