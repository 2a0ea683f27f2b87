/**
 * The administrator's walkthrough on the embedded sandbox, as a library: `scripts/demo.ts`
 * (`pnpm demo`) runs it and checks its output; its test does the same with the pod in-process.
 *
 * @packageDocumentation
 */
export {
  runWalkthrough,
  type WalkthroughOptions,
  type WalkthroughResult,
} from './run-walkthrough.ts';
export { checkWalkthroughOutput, type OutputExpectation } from './check-walkthrough-output.ts';
export { runCliOnSandbox, type SandboxCliRun } from './sandbox-cli.ts';
