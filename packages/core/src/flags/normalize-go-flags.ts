// A long flag with one or two dashes, e.g. `-node=x`, `--forceNamespaced`, `--v=2`.
const LONG_FLAG = /^--?([A-Za-z][\w.-]*)(=.*)?$/su;

/**
 * Rewrites a Go-style command line into the GNU form a commander program reads, so the manifests and
 * charts written for the original daemons keep working: Go's `flag` package takes `-name` as well as
 * `--name`, and the original's camel-case spellings (`--forceNamespaced`, `--MICNamespace`) become
 * the kebab-case flags they are aliases of.
 *
 * A lone single-letter flag (`-v 2`, `-h`) is left as a short option; `-v=2` becomes `--v=2`. Values
 * are never rewritten: an argument that does not start with a dash and a letter is passed through,
 * and so is everything after `--`.
 *
 * @example
 * ```ts
 * normalizeGoFlags(['-node=aks-1', '--forceNamespaced', 'true'], { forceNamespaced: 'force-namespaced' });
 * // ['--node=aks-1', '--force-namespaced', 'true']
 * ```
 * @param argv - the arguments after the program name
 * @param aliases - old spelling → kebab-case name, without dashes
 * @returns the rewritten arguments
 * @internal The daemons' command lines (MIC, NMI); not for applications.
 */
export function normalizeGoFlags(
  argv: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const match = LONG_FLAG.exec(arg);
    const name = match?.[1];
    const value = match?.[2] ?? '';
    if (name === undefined || (!arg.startsWith('--') && name.length === 1 && value === '')) {
      out.push(arg);
      continue;
    }
    const canonical = Object.hasOwn(aliases, name) ? (aliases[name] ?? name) : name;
    out.push(`--${canonical}${value}`);
  }
  return out;
}
