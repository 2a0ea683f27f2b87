// Every pod-identity program checks the Node.js version before loading anything else and says in one
// line what it needs, and every package declares that version in `engines`.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/deploy/helm.ts';

/** Preloaded before the program: makes this Node.js report an older version. */
function reportVersion(version: string): string {
  return `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`;
}

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...args], { cwd: REPO_ROOT }, (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

const programs = [
  ['pod-identity', 'packages/cli/dist/cli.js'],
  ['pod-identity-mic', 'packages/mic/dist/cli.js'],
  ['pod-identity-nmi', 'packages/nmi/dist/cli.js'],
] as const;

describe('the Node.js version check', () => {
  it.each(programs)(
    '%s on Node.js 20 prints one line naming the version it needs',
    async (name, path) => {
      const result = await run(['--import', reportVersion('20.19.0'), path, '--version']);
      expect(result.stderr).toBe(
        `${name} needs Node.js 22.12.0 or newer (22.12+, 24 recommended); this is Node.js 20.19.0\n`,
      );
      expect(result.stdout).toBe('');
      expect(result.code).toBe(1);
    },
  );

  it.each(programs)('%s runs on 22.12', async (_name, path) => {
    const result = await run(['--import', reportVersion('22.12.0'), path, '--version']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('is what every package.json declares in engines', () => {
    const manifests = [
      'package.json',
      ...['cli', 'client', 'core', 'mic', 'nmi', 'testkit'].map(
        (p) => `packages/${p}/package.json`,
      ),
    ];
    for (const manifest of manifests) {
      const { engines } = JSON.parse(readFileSync(join(REPO_ROOT, manifest), 'utf8')) as {
        engines?: { node?: string };
      };
      expect(engines?.node, manifest).toBe('>=22.12.0');
    }
  });
});
