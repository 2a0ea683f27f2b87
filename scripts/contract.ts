// `pnpm test:contract`: the contract tier (docs/testkit.md, "Contract tier"). The ARM, IMDS and Entra
// emulators record every exchange while POD_IDENTITY_CONTRACT_RECORD names a directory; this then
// validates the recording against the published contracts and replays the published examples.
//
// When POD_IDENTITY_CONTRACT_RECORD is already set (CI sets it for its 'test' and 'demo' steps, so the
// whole suite's traffic is checked), that recording is validated. Otherwise this records first: the
// Azure-facing tests of the testkit, MIC's identity assigner, the client and NMI credential tests, and
// the demo. Arguments go to the final vitest run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, repoRoot } from './ensure-built.ts';

const RECORD_ENV = 'POD_IDENTITY_CONTRACT_RECORD';

/** Test files whose emulator traffic a local run records (CI records every test). */
const RECORDED_TESTS = [
  'packages/testkit/test/azure-arm.test.ts',
  'packages/testkit/test/azure-arm-federated-credentials.test.ts',
  'packages/testkit/test/azure-imds.test.ts',
  'packages/testkit/test/azure-entra.test.ts',
  'packages/testkit/test/sandbox.test.ts',
  'packages/mic/test/identity-assigner.test.ts',
  'packages/client/test/imds-emulator.test.ts',
  'packages/nmi/test/managed-identity-credential.test.ts',
];

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): void {
  const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`${command} ${args.join(' ')} failed while recording the contract traffic`);
    process.exit(result.status ?? 1);
  }
}

let directory = process.env[RECORD_ENV];
let temporary = false;
if (!directory) {
  ensureBuilt('the demo needs the built packages');
  directory = mkdtempSync(join(tmpdir(), 'pod-identity-contract-'));
  temporary = true;
  const env = { ...process.env, [RECORD_ENV]: directory };
  run('vitest', ['run', ...RECORDED_TESTS], env);
  run('node', [join(repoRoot, 'scripts', 'demo.ts')], env);
}
const files = readdirSync(directory).filter((name) => name.endsWith('.jsonl'));
console.log(`contract: validating ${String(files.length)} recordings in ${directory}`);

const vitest = spawnSync(
  'vitest',
  ['run', '--config', 'vitest.contract.config.ts', ...process.argv.slice(2)],
  { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, [RECORD_ENV]: directory } },
);
if (temporary) rmSync(directory, { recursive: true, force: true });
process.exitCode = vitest.status ?? 1;
