// Reads the Dockerfiles under deploy/docker into the facts both build paths rely on. deploy/images/
// build.ts builds each image's last stage from them without a Docker engine, so the two paths cannot
// drift apart: what the last stage declares (user, env, labels, entrypoint) is what both images carry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './components.ts';

/** One instruction: its keyword (upper case) and the rest of the line (continuations joined). */
export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
}

/** One `FROM` stage: its image, its name and its instructions. */
export interface DockerStage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: readonly DockerInstruction[];
}

/** What a Dockerfile says. */
export interface Dockerfile {
  readonly path: string;
  readonly text: string;
  /** Global `ARG`s (before the first FROM) with their defaults. */
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
  const stages: { from: string; name: string | undefined; instructions: DockerInstruction[] }[] =
    [];
  for (const line of lines) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    const [, word, restOfLine] = match ?? [];
    if (word === undefined || restOfLine === undefined)
      throw new Error(`${path}: cannot read "${line}"`);
    const keyword = word.toUpperCase();
    const rest = restOfLine.replace(/\s+/g, ' ');
    const current = stages.at(-1);
    if (keyword === 'FROM') {
      const [image = '', as, stageName] = rest.split(' ');
      stages.push({
        from: image,
        name: as?.toUpperCase() === 'AS' ? stageName : undefined,
        instructions: [],
      });
    } else if (current === undefined) {
      if (keyword !== 'ARG') throw new Error(`${path}: ${keyword} before FROM`);
      const [key = '', value = ''] = rest.split('=');
      args[key] = value;
    } else {
      current.instructions.push({ keyword, args: rest });
    }
  }
  return { path, text, args, stages };
}

/** `${NAME}` references in `value` filled from `values`; throws on an unknown name. */
export function substitute(value: string, values: Readonly<Record<string, string>>): string {
  return value.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const found = values[name];
    if (found === undefined) throw new Error(`undeclared ARG ${name}`);
    return found;
  });
}

/** The stage's image with `${ARG}` references filled from the global ARG defaults. */
export function resolvedFrom(file: Dockerfile, stage: DockerStage): string {
  return substitute(stage.from, file.args);
}

/** The stage called `name`; throws when there is none. */
export function stageNamed(file: Dockerfile, name: string): DockerStage {
  const stage = file.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`${file.path}: no stage "${name}"`);
  return stage;
}

/** The last stage: the image. */
export function finalStage(file: Dockerfile): DockerStage {
  const last = file.stages.at(-1);
  if (!last) throw new Error(`${file.path}: no FROM`);
  return last;
}

/** An exec-form (JSON array) instruction's words. */
export function execForm(file: Dockerfile, instruction: DockerInstruction): string[] {
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new Error(`${file.path}: ${instruction.keyword} is not in exec (JSON array) form`);
  }
  return parsed;
}

/** The exec-form ENTRYPOINT of the final stage. */
export function entrypoint(file: Dockerfile): string[] {
  const instruction = finalStage(file).instructions.findLast((i) => i.keyword === 'ENTRYPOINT');
  if (!instruction) throw new Error(`${file.path}: the final stage has no ENTRYPOINT`);
  return execForm(file, instruction);
}

/**
 * `key=value` pairs of an ENV or LABEL instruction; a value may be double-quoted (with `\"` inside)
 * to hold spaces.
 */
export function keyValues(args: string): [string, string][] {
  const pairs: [string, string][] = [];
  const pattern = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)\s*/y;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < args.length && (match = pattern.exec(args)) !== null) {
    const [, key = '', raw = ''] = match;
    pairs.push([key, raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw]);
  }
  if (pattern.lastIndex !== args.length)
    throw new Error(`cannot read key=value pairs in "${args}"`);
  return pairs;
}

/** The package list files a `rootfs` stage's `RUN sh /tmp/rootfs.sh /rootfs <lists>` names. */
export function rootfsLists(file: Dockerfile): string[] {
  const run = stageNamed(file, 'rootfs').instructions.find((i) => i.keyword === 'RUN');
  const match = /rootfs\.sh \/rootfs((?: \S+\.packages)+)$/.exec(run?.args ?? '');
  if (!match?.[1])
    throw new Error(`${file.path}: the rootfs stage runs no "rootfs.sh /rootfs <lists>"`);
  return match[1]
    .trim()
    .split(' ')
    .map((list) => list.replace(/^.*\//, ''));
}

/** The component the build stage lays out with `stage-app.ts <component> /out`. */
export function stagedComponent(file: Dockerfile): string {
  const run = stageNamed(file, 'build').instructions.findLast((i) => i.keyword === 'RUN');
  const match = /deploy\/images\/stage-app\.ts (\w+) \/out/.exec(run?.args ?? '');
  if (!match?.[1])
    throw new Error(`${file.path}: the build stage runs no "stage-app.ts <name> /out"`);
  return match[1];
}
