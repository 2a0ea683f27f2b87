import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/deploy/helm.ts';
import { deployedPackage, entrypoint, readDockerfile, resolvedFrom } from './dockerfile.ts';

const run = promisify(execFile);

interface WorkspacePackage {
  readonly dir: string;
  readonly manifest: { name: string; version: string; bin?: Record<string, string> };
}

function workspacePackage(name: string): WorkspacePackage {
  for (const parent of ['packages', 'examples']) {
    for (const child of readdirSync(join(REPO_ROOT, parent))) {
      const path = join(REPO_ROOT, parent, child, 'package.json');
      if (!existsSync(path)) continue;
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as WorkspacePackage['manifest'];
      if (manifest.name === name) return { dir: join(REPO_ROOT, parent, child), manifest };
    }
  }
  throw new Error(`no workspace package named ${name}`);
}

/** The script the image's entrypoint runs with node, relative to /app (the deployed package). */
function nodeScript(name: string): string {
  const command = entrypoint(readDockerfile(name));
  const node = command.indexOf('node');
  const script = command[node + 1];
  if (node < 0 || !script?.startsWith('/app/')) {
    throw new Error(
      `${name}: the entrypoint does not run "node /app/…": ${JSON.stringify(command)}`,
    );
  }
  return posix.relative('/app', script);
}

const images = [
  { image: 'mic', bin: 'pod-identity-mic' },
  { image: 'nmi', bin: 'pod-identity-nmi' },
  { image: 'demo', bin: 'pod-identity-demo' },
] as const;

const scratch = mkdtempSync(join(tmpdir(), 'pod-identity-docker-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(images)('the $image image', ({ image, bin }) => {
  const file = readDockerfile(image);
  const pkg = workspacePackage(deployedPackage(file));

  it('builds on node:24 and runs on node:24-slim, two stages', () => {
    expect(file.stages).toHaveLength(2);
    expect(resolvedFrom(file, file.stages[0]!)).toBe('node:24');
    expect(file.stages[0]!.name).toBe('build');
    expect(resolvedFrom(file, file.stages[1]!)).toBe('node:24-slim');
    expect(file.stages[1]!.instructions).toContainEqual({
      keyword: 'COPY',
      args: '--from=build /out /app',
    });
  });

  it(`runs the package's ${bin} bin`, () => {
    const target = pkg.manifest.bin?.[bin];
    expect(target, `${pkg.manifest.name} has no bin ${bin}`).toBeDefined();
    expect(posix.normalize(target!)).toBe(nodeScript(image));
  });

  it('runs a file that the package build writes (a tsup entry)', () => {
    const config = readFileSync(join(pkg.dir, 'tsup.config.ts'), 'utf8');
    const entries = /entry:\s*\{([^}]*)\}/.exec(config)?.[1] ?? '';
    const names = [...entries.matchAll(/['"]?([\w-]+)['"]?\s*:\s*['"]src\//g)].map((m) => m[1]);
    expect(names).toContain(posix.basename(nodeScript(image), '.js'));
    expect(config).toMatch(/format:\s*\[[^\]]*'esm'/);
  });
});

/**
 * The images' entrypoints, started from what `pnpm deploy --prod` copies into /app (what the runtime
 * stage holds), with the flag that prints the version: they load with production dependencies only.
 */
const started = [
  { image: 'mic', env: { MIC_POD_NAMESPACE: 'kube-system' } },
  { image: 'nmi', env: {} },
] as const;

describe.each(started)('the $image entrypoint', ({ image, env }) => {
  it('starts from what pnpm deploy --prod puts in /app', async () => {
    const pkg = workspacePackage(deployedPackage(readDockerfile(image)));
    const out = join(scratch, image);
    await run('pnpm', ['--filter', pkg.manifest.name, 'deploy', '--prod', '--offline', out], {
      cwd: REPO_ROOT,
    });
    const script = join(out, nodeScript(image));
    expect(existsSync(script), `${script} is missing: run pnpm build first`).toBe(true);
    // The runtime resolves workspace dependencies through their built entry, never `source`.
    const manifest = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const workspaceDeps = Object.keys(manifest.dependencies ?? {}).filter((d) =>
      d.startsWith('@pod-identity/'),
    );
    expect(workspaceDeps.length).toBeGreaterThan(0);
    for (const dep of workspaceDeps) {
      expect(existsSync(join(out, 'node_modules', dep, 'dist/index.js')), dep).toBe(true);
    }
    expect(existsSync(join(out, 'node_modules/vitest'))).toBe(false);
    const { stdout } = await run(process.execPath, [script, '--version'], {
      cwd: out,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    });
    expect(stdout.trim()).toBe(pkg.manifest.version);
  });
});

describe('users', () => {
  it('runs MIC as the non-root node user', () => {
    expect(readDockerfile('mic').stages[1]!.instructions).toContainEqual({
      keyword: 'USER',
      args: 'node',
    });
  });

  it('runs NMI as root with iptables and conntrack installed, for the node nat table', () => {
    const runtime = readDockerfile('nmi').stages[1]!;
    expect(runtime.instructions.some((i) => i.keyword === 'USER')).toBe(false);
    expect(
      runtime.instructions.some(
        (i) =>
          i.keyword === 'RUN' &&
          /apt-get install .*\biptables\b/.test(i.args) &&
          /\bconntrack\b/.test(i.args),
      ),
    ).toBe(true);
  });
});

describe('.dockerignore', () => {
  it.each(['mic', 'nmi', 'demo'])(
    'keeps node_modules and build output out of the %s context',
    (image) => {
      const ignore = readFileSync(
        join(REPO_ROOT, 'deploy/docker', `${image}.Dockerfile.dockerignore`),
        'utf8',
      );
      const patterns = ignore.split('\n').filter((l) => l && !l.startsWith('#'));
      expect(patterns).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
    },
  );
});

describe('nmi-entrypoint', () => {
  const script = join(REPO_ROOT, 'deploy/docker/nmi-entrypoint.sh');

  /** Runs the entrypoint with stub iptables tools that report the given nat rule counts. */
  async function select(
    nftRules: number,
    legacyRules: number,
  ): Promise<{ chosen: string; ran: string }> {
    const bin = mkdtempSync(join(scratch, 'bin-'));
    const log = join(bin, 'alternatives.log');
    const stub = (name: string, body: string): void => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    const rules = (n: number): string =>
      `echo '*nat'; ${Array.from({ length: n }, (_, i) => `echo '-A KUBE-${i} -j RETURN'`).join('; ')}; echo COMMIT`;
    stub('iptables-nft-save', rules(nftRules));
    stub('iptables-legacy-save', rules(legacyRules));
    stub('update-alternatives', `echo "$*" >> ${log}`);
    const { stdout } = await run('sh', [script, 'echo', 'nmi', 'started'], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    return { chosen: readFileSync(log, 'utf8'), ran: stdout.trim() };
  }

  it('uses the legacy backend when the node keeps its rules there', async () => {
    const { chosen, ran } = await select(0, 12);
    expect(chosen).toBe(
      '--set iptables /usr/sbin/iptables-legacy\n--set ip6tables /usr/sbin/ip6tables-legacy\n',
    );
    expect(ran).toBe('nmi started');
  });

  it('uses nft otherwise, including on a node with no rules yet', async () => {
    expect((await select(30, 2)).chosen).toContain('--set iptables /usr/sbin/iptables-nft\n');
    expect((await select(0, 0)).chosen).toContain('--set iptables /usr/sbin/iptables-nft\n');
  });
});
