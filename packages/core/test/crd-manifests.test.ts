// The committed deploy/crds/ must be exactly what core's `podIdentityCrds()` generates: this runs
// the real generator (`pnpm gen:crds`) in check mode against the repository, and shows that check
// mode catches missing, changed and stale files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { podIdentityCrds } from '@pod-identity/core';

const repoRoot = resolve(import.meta.dirname, '../../..');
const script = join(repoRoot, 'scripts/generate-crds.ts');
const committed = join(repoRoot, 'deploy/crds');

function generate(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    cwd: repoRoot,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const scratch: string[] = [];
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pod-identity-crds-'));
  scratch.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('deploy/crds', () => {
  it('matches what podIdentityCrds() generates (run `pnpm gen:crds` after changing the source)', () => {
    const result = generate('--check');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('holds one file per kind whose content is the definition', () => {
    const files = readdirSync(committed)
      .filter((name) => name.endsWith('.yaml'))
      .sort();
    const crds = podIdentityCrds();
    expect(files).toEqual(
      crds.map((crd) => `aadpodidentity.k8s.io_${crd.spec.names.plural}.yaml`).sort(),
    );
    for (const crd of crds) {
      const text = readFileSync(
        join(committed, `aadpodidentity.k8s.io_${crd.spec.names.plural}.yaml`),
        'utf8',
      );
      expect(parseYaml(text)).toEqual(crd);
    }
  });
});

describe('scripts/generate-crds.ts', () => {
  it('in check mode, fails on missing, changed and stale files and names them', () => {
    const dir = scratchDir();
    const missing = generate('--check', '--out', dir);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('aadpodidentity.k8s.io_azureidentities.yaml is missing');

    expect(generate('--out', dir).status).toBe(0);
    expect(generate('--check', '--out', dir).status).toBe(0);

    const identityFile = join(dir, 'aadpodidentity.k8s.io_azureidentities.yaml');
    writeFileSync(
      identityFile,
      readFileSync(identityFile, 'utf8').replace('name: Type', 'name: Kind'),
    );
    writeFileSync(join(dir, 'aadpodidentity.k8s.io_azureoldthings.yaml'), 'stale: true\n');
    const drifted = generate('--check', '--out', dir);
    expect(drifted.status).toBe(1);
    expect(drifted.stderr).toContain(
      'aadpodidentity.k8s.io_azureidentities.yaml differs from the source',
    );
    expect(drifted.stderr).toContain(
      'aadpodidentity.k8s.io_azureoldthings.yaml is not produced by the source',
    );
  });

  it('in write mode, restores the files byte for byte and removes stale ones', () => {
    const dir = scratchDir();
    writeFileSync(join(dir, 'aadpodidentity.k8s.io_azureoldthings.yaml'), 'stale: true\n');
    writeFileSync(join(dir, 'README.md'), 'not ours\n');
    expect(generate('--out', dir).status).toBe(0);
    const written = readdirSync(dir).sort();
    expect(written).toEqual(
      [...readdirSync(committed).filter((name) => name.endsWith('.yaml')), 'README.md'].sort(),
    );
    for (const name of written.filter((file) => file.endsWith('.yaml'))) {
      expect(readFileSync(join(dir, name), 'utf8')).toBe(
        readFileSync(join(committed, name), 'utf8'),
      );
    }
  });
});
