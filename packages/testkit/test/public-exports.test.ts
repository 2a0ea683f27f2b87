// The runtime export surface of @pod-identity/testkit, checked against a committed snapshot so that
// removing or renaming public API (or turning a function into a constant) fails CI. After an
// intended change, update and review the snapshot, then commit it:
//   pnpm exec vitest run packages/testkit/test/public-exports.test.ts --update
import * as testkit from '@pod-identity/testkit';
import * as testkitMsw from '@pod-identity/testkit/msw';
import { expect, it } from 'vitest';

/** One `name: typeof` line per runtime export, sorted. */
function surface(entry: Record<string, unknown>): string {
  const names = Object.keys(entry).sort();
  return names.map((name) => `${name}: ${typeof entry[name]}`).join('\n') + '\n';
}

it('@pod-identity/testkit exports exactly the committed names', async () => {
  await expect(surface(testkit)).toMatchFileSnapshot('./__snapshots__/testkit.exports.txt');
});

it('@pod-identity/testkit/msw exports exactly the committed names', async () => {
  await expect(surface(testkitMsw)).toMatchFileSnapshot('./__snapshots__/testkit-msw.exports.txt');
});
