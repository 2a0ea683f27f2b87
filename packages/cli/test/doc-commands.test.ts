// Runs the commands of the guides under docs/ against the sandbox (the rule is in doc-blocks.ts and
// docs/development.md): every `pod-identity` line of a `<!-- doc-run scenario=… -->` block runs and
// must end with the exit code the guide gives; a `<!-- doc-output -->` block after it must be what the
// last command printed. az, kubectl and helm lines are counted in the test's title as not run.
// DOC_RUN_UPDATE=1 rewrites the output blocks from what the commands print.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '@pod-identity/cli';
import { startCliSandbox, type CliRun, type CliSandbox } from './cli-sandbox.js';
import { readDocBlocks, splitCommand, type DocBlock } from './doc-blocks.js';
import { DOC_SCENARIOS } from './doc-scenarios.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const GUIDES = [
  ...readdirSync(join(REPO, 'docs/guides'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/guides/${name}`),
  'docs/monitoring.md',
].filter((file) => existsSync(join(REPO, file)));
const UPDATE = process.env.DOC_RUN_UPDATE === '1';
const updates = new Map<string, { startLine: number; endLine: number; text: string }[]>();

/** Output with what differs between runs (generated IDs, times, Node.js version) made constant. */
function normalise(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, (id) =>
      id.replace(/[0-9a-f]/gi, 'x'),
    )
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '2026-01-01T00:00:00Z')
    .replace(/Node\.js \d+\.\d+\.\d+/g, 'Node.js 24.x')
    .replace(/resourceVersion: "\d+"/g, 'resourceVersion: "…"')
    .trimEnd();
}

/**
 * The sandbox's kubeconfig with its context named as `az aks get-credentials --name myAKSCluster`
 * names it, which the guides' az-style lines select.
 */
function azKubeconfig(sandbox: CliSandbox, dir: string): string {
  const config = parse(sandbox.kube.kubeconfigYaml) as {
    contexts: { name: string }[];
    'current-context': string;
  };
  for (const context of config.contexts) context.name = 'myAKSCluster';
  config['current-context'] = 'myAKSCluster';
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, stringify(config));
  return path;
}

async function run(
  kubeconfig: string,
  sandbox: CliSandbox,
  args: readonly string[],
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  // Paths in the guides are relative to the repository root.
  const resolved = args.map((arg) =>
    /^(deploy|docs|examples)\//.test(arg) ? join(REPO, arg) : arg,
  );
  const code = await runCli(['--kubeconfig', kubeconfig, ...resolved], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    azure: sandbox.azure,
  });
  return { code, stdout, stderr };
}

function title(block: DocBlock): string {
  const ran = block.commands.filter((c) => c.kind === 'run').length;
  const external = block.commands
    .filter((c) => c.kind === 'external')
    .map((c) => c.text.split(' ').slice(0, 3).join(' '));
  return `${block.file}:${String(block.line)} (${block.scenario ?? ''}): ${String(ran)} pod-identity command(s) run${external.length === 0 ? '' : `; not run here (needs Azure or a real cluster): ${external.join(', ')}`}`;
}

afterAll(() => {
  for (const [file, changes] of updates) {
    const lines = readFileSync(join(REPO, file), 'utf8').split('\n');
    for (const change of changes.sort((a, b) => b.startLine - a.startLine))
      lines.splice(change.startLine - 1, change.endLine - change.startLine + 1, change.text);
    writeFileSync(join(REPO, file), lines.join('\n'));
  }
});

it('finds the guides', () => {
  expect(GUIDES.length).toBeGreaterThan(0);
});

for (const file of GUIDES) {
  const { blocks, problems } = readDocBlocks(file, readFileSync(join(REPO, file), 'utf8'));
  describe(file, () => {
    it('marks every shell block, and runs only pod-identity (az, kubectl and helm are listed)', () => {
      expect(problems).toEqual([]);
    });
    for (const block of blocks.filter((b) => b.scenario !== undefined)) {
      it(
        title(block),
        async () => {
          const scenario = DOC_SCENARIOS[block.scenario ?? ''];
          if (scenario === undefined) throw new Error(`unknown scenario ${block.scenario ?? ''}`);
          expect(block.commands.some((c) => c.kind === 'run')).toBe(true);
          const sandbox = await startCliSandbox();
          const dir = mkdtempSync(join(tmpdir(), 'pod-identity-doc-run-'));
          try {
            const kubeconfig = azKubeconfig(sandbox, dir);
            const variables = await scenario(sandbox);
            let last: CliRun | undefined;
            for (const command of block.commands.filter((c) => c.kind === 'run')) {
              last = await run(kubeconfig, sandbox, splitCommand(command.text, variables).slice(1));
              expect(
                { line: command.line, code: last.code },
                `${file}:${String(command.line)} ${command.text}\n${last.stdout}${last.stderr}`,
              ).toEqual({ line: command.line, code: command.exitCode });
            }
            if (block.output === undefined || last === undefined) return;
            const printed = normalise(`${last.stdout}${last.stderr}`);
            if (UPDATE) {
              const list = updates.get(file) ?? [];
              list.push({ ...block.output, text: printed });
              updates.set(file, list);
            } else {
              expect(printed, `${file}:${String(block.output.startLine)}`).toBe(
                block.output.text.trimEnd(),
              );
            }
          } finally {
            await sandbox.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
        60_000,
      );
    }
  });
}
