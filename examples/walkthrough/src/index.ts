/**
 * The administrator's walkthrough on the embedded sandbox, as a library: `scripts/demo.ts`
 * (`pnpm demo`) runs it and its test checks the output step by step.
 *
 * @packageDocumentation
 */
export {
  runWalkthrough,
  type WalkthroughOptions,
  type WalkthroughResult,
} from './run-walkthrough.ts';
