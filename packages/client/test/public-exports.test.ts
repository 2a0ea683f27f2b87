// The runtime export surface of @pod-identity/client, checked against a committed snapshot so that
// removing or renaming public API (or turning a function into a constant) fails CI. After an
// intended change, update and review the snapshot, then commit it:
//   pnpm exec vitest run packages/client/test/public-exports.test.ts --update
import * as client from '@pod-identity/client';
import { expect, it } from 'vitest';

/** One `name: typeof` line per runtime export, sorted. */
function surface(entry: Record<string, unknown>): string {
  const names = Object.keys(entry).sort();
  return names.map((name) => `${name}: ${typeof entry[name]}`).join('\n') + '\n';
}

it('@pod-identity/client exports exactly the committed names', async () => {
  await expect(surface(client)).toMatchFileSnapshot('./__snapshots__/client.exports.txt');
});
