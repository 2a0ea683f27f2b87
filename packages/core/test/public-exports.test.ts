// The runtime export surface of core's published entry points, checked against committed
// snapshots so that removing or renaming public API (or turning a function into a constant) fails
// CI. After an intended change, update and review the snapshots, then commit them:
//   pnpm exec vitest run packages/core/test/public-exports.test.ts --update
import * as arm from '@pod-identity/core/arm';
import * as azure from '@pod-identity/core/azure';
import * as kubernetes from '@pod-identity/core/kubernetes';
import * as core from '@pod-identity/core';
import { expect, it } from 'vitest';

/** One `name: typeof` line per runtime export, sorted. */
function surface(entry: Record<string, unknown>): string {
  const names = Object.keys(entry).sort();
  return names.map((name) => `${name}: ${typeof entry[name]}`).join('\n') + '\n';
}

it('@pod-identity/core exports exactly the committed names', async () => {
  await expect(surface(core)).toMatchFileSnapshot('./__snapshots__/core.exports.txt');
});

it('@pod-identity/core/kubernetes exports exactly the committed names', async () => {
  await expect(surface(kubernetes)).toMatchFileSnapshot(
    './__snapshots__/core-kubernetes.exports.txt',
  );
});

it('@pod-identity/core/azure exports exactly the committed names', async () => {
  await expect(surface(azure)).toMatchFileSnapshot('./__snapshots__/core-azure.exports.txt');
});

it('@pod-identity/core/arm exports exactly the committed names', async () => {
  await expect(surface(arm)).toMatchFileSnapshot('./__snapshots__/core-arm.exports.txt');
});
