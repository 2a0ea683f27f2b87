// The Dockerfiles under deploy/docker, and the two scripts both build paths run (rootfs.sh, stage-app.ts).
// The images themselves are built and run by the image tier (deploy/images/test, `pnpm test:images`).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_REPOSITORY, imageReference } from '../images/build.ts';
import { COMPONENTS, REPO_ROOT, componentManifest } from '../images/components.ts';
import {
  entrypoint,
  finalStage,
  keyValues,
  readDockerfile,
  resolvedFrom,
  rootfsLists,
  stageNamed,
  stagedComponent,
} from '../images/dockerfile.ts';
import { BACKEND_COMMANDS, backendDirectory } from '../images/iptables-backend.ts';
import { IMAGE_NODE, imageProgram, stageApp } from '../images/stage-app.ts';
import { find, podOf, renderChart } from './render-chart.ts';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'pod-identity-docker-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const chartVersion = (
  parse(readFileSync(join(REPO_ROOT, 'deploy/charts/pod-identity/Chart.yaml'), 'utf8')) as {
    appVersion: string;
  }
).appVersion;

describe.each(COMPONENTS)('the $name Dockerfile', (c) => {
  const file = readDockerfile(c.name);
  const manifest = componentManifest(c);

  it('builds on node:24, takes Debian packages from debian:bookworm-slim, and is FROM scratch', () => {
    expect(file.stages.map((s) => s.name)).toEqual(['build', 'rootfs', undefined]);
    expect(resolvedFrom(file, stageNamed(file, 'build'))).toBe('node:24-bookworm');
    expect(resolvedFrom(file, stageNamed(file, 'rootfs'))).toBe('debian:bookworm-slim');
    expect(finalStage(file).from).toBe('scratch');
    const copies = finalStage(file)
      .instructions.filter((i) => i.keyword === 'COPY')
      .map((i) => i.args);
    expect(copies).toEqual(['--from=rootfs /rootfs/ /', '--from=build /out/ /']);
  });

  it(`builds ${manifest.name} and lays out ${c.name} with stage-app.ts`, () => {
    expect(stagedComponent(file)).toBe(c.name);
    const build = stageNamed(file, 'build').instructions.findLast((i) => i.keyword === 'RUN');
    expect(build?.args).toContain(`pnpm --filter "${manifest.name}..." run build`);
  });

  it('copies the package lists its rootfs stage installs, base first', () => {
    const lists = rootfsLists(file);
    expect(lists[0]).toBe('base.packages');
    expect(lists.slice(1)).toEqual(c.name === 'nmi' ? ['nmi.packages'] : []);
    const copy = stageNamed(file, 'rootfs').instructions.find((i) => i.keyword === 'COPY');
    expect(copy?.args).toBe(
      ['deploy/images/rootfs.sh', ...lists.map((l) => `deploy/images/${l}`), '/tmp/'].join(' '),
    );
    for (const list of lists) expect(existsSync(join(REPO_ROOT, 'deploy/images', list))).toBe(true);
  });

  it("runs its package's bin from where stage-app.ts bundles it, with the image's Node", () => {
    expect(imageProgram(c)).toMatch(/^\/app\/dist\/[\w-]+\.c?js$/);
    const command = entrypoint(file);
    const program = imageProgram(c);
    expect(command.slice(-2)).toEqual([IMAGE_NODE, program]);
    if (c.name === 'nmi')
      expect(command.slice(0, 2)).toEqual([IMAGE_NODE, '/app/dist/entrypoint.js']);
    else expect(command).toHaveLength(2);
  });

  it('labels the image with its source, version, revision and licence', () => {
    expect(file.args.VERSION).toBe(manifest.version);
    expect(file.args.VERSION).toBe(chartVersion);
    const labels = Object.fromEntries(
      finalStage(file)
        .instructions.filter((i) => i.keyword === 'LABEL')
        .flatMap((i) => keyValues(i.args)),
    );
    expect(labels).toEqual({
      'org.opencontainers.image.title': `pod-identity-${c.name}`,
      'org.opencontainers.image.version': '${VERSION}',
      'org.opencontainers.image.revision': '${REVISION}',
      'org.opencontainers.image.source': '${SOURCE}',
      'org.opencontainers.image.licenses': manifest.license,
    });
  });

  it('runs as a numeric user (runAsNonRoot can check it): 65532 except NMI, which is root', () => {
    const user = finalStage(file).instructions.findLast((i) => i.keyword === 'USER')?.args;
    expect(user).toBe(c.name === 'nmi' ? '0:0' : '65532:65532');
  });

  it('keeps node_modules and build output out of the build context', () => {
    const ignore = readFileSync(
      join(REPO_ROOT, 'deploy/docker', `${c.name}.Dockerfile.dockerignore`),
      'utf8',
    );
    const patterns = ignore.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(patterns).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });
});

describe('the image names', () => {
  it('are the references the chart uses by default', async () => {
    const objects = await renderChart({ namespace: 'kube-system' });
    expect(podOf(find(objects, 'Deployment', 'pod-identity-mic')).container.image).toBe(
      imageReference(DEFAULT_REPOSITORY, 'mic', chartVersion),
    );
    expect(podOf(find(objects, 'DaemonSet', 'pod-identity-nmi')).container.image).toBe(
      imageReference(DEFAULT_REPOSITORY, 'nmi', chartVersion),
    );
  });
});

/**
 * What stage-app.ts lays out, started with the image's Node binary from that directory alone: the
 * bundles need no node_modules.
 */
describe.each(COMPONENTS)('the $name program layer', (c) => {
  it('runs --version from the bundle alone', { timeout: 120_000 }, async () => {
    const out = join(scratch, c.name);
    await stageApp(c, out);
    expect(existsSync(join(out, 'app/node_modules'))).toBe(false);
    expect(readFileSync(join(out, 'app/THIRD-PARTY-NOTICES'), 'utf8')).toContain('(MIT)');
    const { stdout } = await run(join(out, IMAGE_NODE), [join(out, imageProgram(c)), '--version'], {
      cwd: out,
      env: { NODE_ENV: 'production', MIC_POD_NAMESPACE: 'kube-system' },
    });
    expect(stdout.trim()).toBe(componentManifest(c).version);
    if (c.name === 'nmi') {
      for (const backend of ['nft', 'legacy'] as const) {
        for (const command of BACKEND_COMMANDS) {
          expect(readlinkSync(join(out, backendDirectory(backend), command))).toBe(
            `/usr/sbin/xtables-${backend}-multi`,
          );
        }
      }
    }
  });
});
