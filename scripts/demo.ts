// `pnpm demo`: the administrator's walkthrough (shared reference walkthrough.md) on the embedded
// sandbox — Kubernetes, ARM, Entra and per-node IMDS emulators, MIC, one NMI per node, the CLI and the
// demo pod as a process bound to its pod IP. Builds the packages first when their dist/ is missing or
// older than their sources. Exits non-zero when any step fails.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, repoRoot as root } from './ensure-built.ts';

ensureBuilt('the demo needs the built packages', process.argv.includes('--build'));

// The walkthrough lives in a workspace package so that its imports resolve to the workspace packages.
interface WalkthroughModule {
  checkWalkthroughOutput: (lines: readonly string[]) => { description: string; met: boolean }[];
  runWalkthrough: (options: {
    write: (line: string) => void;
    podRunner: 'process';
    demoAppEntry: string;
  }) => Promise<{ ok: boolean }>;
}
const walkthrough = pathToFileURL(join(root, 'examples', 'walkthrough', 'src', 'index.ts')).href;
const { runWalkthrough, checkWalkthroughOutput } = (await import(walkthrough)) as WalkthroughModule;
console.log('pod-identity walkthrough on the embedded sandbox');
const lines: string[] = [];
const result = await runWalkthrough({
  write: (line) => {
    lines.push(line);
    console.log(line);
  },
  podRunner: 'process',
  demoAppEntry: join(root, 'examples', 'demo-app', 'src', 'main.ts'),
});
// CI runs `pnpm demo`: check what it printed, step by step, not just that it finished.
const expectations = checkWalkthroughOutput(lines);
const unmet = expectations.filter((expectation) => !expectation.met);
console.log(
  `output check: ${expectations.length - unmet.length}/${expectations.length} expectations met`,
);
for (const expectation of unmet) console.log(`  not met: ${expectation.description}`);
process.exitCode = result.ok && unmet.length === 0 ? 0 : 1;
