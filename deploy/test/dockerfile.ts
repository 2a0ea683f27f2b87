// Reads the Dockerfiles under deploy/docker into the facts the tests check. There is no Docker
// engine here, so the tests check what a build would rely on: the package it deploys, the path its
// entrypoint runs, the user it runs as.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/deploy/helm.ts';

/** One `FROM` stage: its image, its name and its instructions (continuation lines joined). */
export interface DockerStage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: readonly { keyword: string; args: string }[];
}

/** What a Dockerfile says. */
export interface Dockerfile {
  readonly path: string;
  readonly text: string;
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly DockerStage[];
}

/** Parses deploy/docker/<name>.Dockerfile. Only what these Dockerfiles use: no heredocs. */
export function readDockerfile(name: string): Dockerfile {
  const path = join(REPO_ROOT, 'deploy/docker', `${name}.Dockerfile`);
  const text = readFileSync(path, 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: {
    from: string;
    name: string | undefined;
    instructions: { keyword: string; args: string }[];
  }[] = [];
  for (const line of lines) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`${path}: cannot read "${line}"`);
    const keyword = match[1]!.toUpperCase();
    const rest = match[2]!.replace(/\s+/g, ' ');
    if (keyword === 'FROM') {
      const [image, as, stageName] = rest.split(' ');
      stages.push({
        from: image!,
        name: as?.toUpperCase() === 'AS' ? stageName : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`${path}: ${keyword} before FROM`);
      const [key, value] = rest.split('=');
      args[key!] = value ?? '';
    } else {
      stages.at(-1)!.instructions.push({ keyword, args: rest });
    }
  }
  return { path, text, args, stages };
}

/** The stage's image with `${ARG}` references filled from the global ARG defaults. */
export function resolvedFrom(file: Dockerfile, stage: DockerStage): string {
  return stage.from.replace(/\$\{(\w+)\}/g, (_, arg: string) => {
    const value = file.args[arg];
    if (value === undefined) throw new Error(`${file.path}: FROM uses undeclared ARG ${arg}`);
    return value;
  });
}

/** The exec-form ENTRYPOINT of the final stage. */
export function entrypoint(file: Dockerfile): string[] {
  const last = file.stages.at(-1);
  const instruction = last?.instructions.findLast((i) => i.keyword === 'ENTRYPOINT');
  if (!instruction) throw new Error(`${file.path}: the final stage has no ENTRYPOINT`);
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`${file.path}: ENTRYPOINT is not in exec (JSON array) form`);
  }
  return parsed;
}

/** The workspace package the build stage deploys with `pnpm --filter <name> deploy --prod /out`. */
export function deployedPackage(file: Dockerfile): string {
  const match = /pnpm --filter (\S+) deploy --prod \/out/.exec(file.text);
  if (!match?.[1]) throw new Error(`${file.path}: no "pnpm --filter <pkg> deploy --prod /out"`);
  return match[1];
}
