// Reads the command blocks of the guides under docs/. The rule a guide follows (docs/development.md,
// "Commands in the guides"):
//
//   <!-- doc-run scenario=<name> -->      before a ```sh block: its commands run against the sandbox
//   <!-- doc-output -->                   before the ``` block right after: the last command's output
//   <!-- doc-run: not run, <reason> -->   before a ```sh block that cannot run here (say why)
//
// In a doc-run block, `pod-identity …` lines run (exit 0 unless the line ends `# exit <n>`); lines of
// az, kubectl and helm (also `NAME=$(az …)`) are listed as not run, since they need Azure or a real
// cluster; anything else fails. A ```sh block with a `pod-identity` line and no marker fails.

/** One command line of a block, with its continuation lines joined. */
export interface DocCommand {
  /** 1-based line in the guide where the command starts. */
  line: number;
  text: string;
  /** `run`: a pod-identity command; `external`: az, kubectl or helm, not run here. */
  kind: 'run' | 'external';
  /** The exit code the guide says the command ends with (default 0). */
  exitCode: number;
}

/** A marked block of a guide. */
export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The scenario the sandbox is prepared with; `undefined` for a block marked not run. */
  scenario: string | undefined;
  /** Why a block is not run, for those marked so. */
  notRun: string | undefined;
  commands: DocCommand[];
  /** The expected output of the last command, when a doc-output block follows. */
  output: { text: string; startLine: number; endLine: number } | undefined;
}

const EXTERNAL = /^(?:[A-Z_][A-Z0-9_]*=\$\()?(az|kubectl|helm)\s/;
const RUN = /^pod-identity(\s|$)/;

/**
 * The marked blocks of a guide, and its problems: unmarked shell blocks with pod-identity lines,
 * commands that are neither pod-identity nor az/kubectl/helm in a doc-run block.
 */
export function readDocBlocks(
  file: string,
  markdown: string,
): { blocks: DocBlock[]; problems: string[] } {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  const problems: string[] = [];
  let marker: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^<!-- doc-(run|output)/.test(line)) {
      marker = line;
      continue;
    }
    const fence = /^```(\w*)/.exec(line);
    if (fence === null) {
      if (line.trim() !== '') marker = undefined;
      continue;
    }
    const end = lines.findIndex((l, at) => at > i && l.startsWith('```'));
    if (end === -1) {
      problems.push(`${file}:${i + 1}: unclosed code block`);
      break;
    }
    const body = lines.slice(i + 1, end);
    if (marker?.startsWith('<!-- doc-output') === true) {
      const last = blocks.at(-1);
      if (last?.scenario === undefined)
        problems.push(`${file}:${i + 1}: doc-output follows no doc-run block`);
      else last.output = { text: body.join('\n'), startLine: i + 2, endLine: end };
    } else if (fence[1] === 'sh' || fence[1] === 'bash') {
      const block = shellBlock(file, i, body, marker, problems);
      if (block !== undefined) blocks.push(block);
    }
    marker = undefined;
    i = end;
  }
  return { blocks, problems };
}

function shellBlock(
  file: string,
  fenceIndex: number,
  body: readonly string[],
  marker: string | undefined,
  problems: string[],
): DocBlock | undefined {
  const commands = joinContinuations(body, fenceIndex + 2);
  const run =
    marker === undefined ? undefined : /^<!-- doc-run scenario=([\w-]+) -->$/.exec(marker);
  const notRun =
    marker === undefined ? undefined : /^<!-- doc-run: not run, (.+) -->$/.exec(marker);
  const where = `${file}:${fenceIndex + 1}`;
  if (run === null && notRun === null) {
    problems.push(`${where}: unreadable marker ${marker ?? ''}`);
    return undefined;
  }
  if (run === undefined) {
    if (commands.some((c) => RUN.test(c.text)))
      problems.push(
        `${where}: a shell block with pod-identity commands needs <!-- doc-run scenario=… --> or <!-- doc-run: not run, <reason> -->`,
      );
    return undefined;
  }
  const block: DocBlock = {
    file,
    line: fenceIndex + 1,
    scenario: run?.[1],
    notRun: notRun?.[1],
    commands: [],
    output: undefined,
  };
  for (const command of commands) {
    const exit = /\s+# exit (\d+)$/.exec(command.text);
    const text = exit === null ? command.text : command.text.slice(0, exit.index);
    if (RUN.test(text))
      block.commands.push({
        line: command.line,
        text,
        kind: 'run',
        exitCode: Number(exit?.[1] ?? 0),
      });
    else if (EXTERNAL.test(text))
      block.commands.push({ line: command.line, text, kind: 'external', exitCode: 0 });
    else if (block.scenario !== undefined)
      problems.push(
        `${file}:${command.line}: ${JSON.stringify(text)} is neither pod-identity nor az/kubectl/helm`,
      );
  }
  return block;
}

/** Non-blank, non-comment lines, with `\`-continued lines joined. */
function joinContinuations(
  body: readonly string[],
  firstLine: number,
): { line: number; text: string }[] {
  const result: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | undefined;
  body.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    const continued = trimmed.endsWith('\\');
    const piece = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending =
      pending === undefined
        ? { line: firstLine + index, text: piece }
        : { line: pending.line, text: `${pending.text} ${piece}` };
    if (!continued) {
      result.push(pending);
      pending = undefined;
    }
  });
  if (pending !== undefined) result.push(pending);
  return result;
}

/**
 * Splits a command line into arguments as a shell would for the guides' commands: single and double
 * quotes, `$NAME`/`${NAME}` from `variables` (an unknown one is an error).
 */
export function splitCommand(text: string, variables: Readonly<Record<string, string>>): string[] {
  const expand = (word: string): string =>
    word.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, name: string) => {
      const value = variables[name];
      if (value === undefined) throw new Error(`$${name} is not set by the scenario`);
      return value;
    });
  const args: string[] = [];
  for (const match of text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    if (match[1] !== undefined) args.push(match[1]);
    else args.push(expand(match[2] ?? match[3] ?? ''));
  }
  return args;
}
