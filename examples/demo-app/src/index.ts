/**
 * The walkthrough's demo program as a library, so tests and the sandbox demo can run a round
 * in-process; `main.ts` is the container's entry point.
 *
 * @packageDocumentation
 */
export { runDemoRound, type DemoOptions, type DemoResult } from './run-demo.ts';
export { parseDemoOptions, type DemoCommandLine } from './demo-options.ts';
