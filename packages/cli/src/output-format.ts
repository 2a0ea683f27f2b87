import { stringify } from 'yaml';
import { CliError, ExitCode } from './cli-error.js';

/** The `-o` formats, as kubectl names them. */
export const OutputFormats = ['table', 'json', 'yaml'] as const;

/** One of {@link OutputFormats}. */
export type OutputFormat = (typeof OutputFormats)[number];

/**
 * Checks a `-o` value.
 * @throws {@link CliError} (usage) for anything but `table`, `json`, `yaml`
 */
export function parseOutputFormat(value: string | undefined): OutputFormat {
  const format = value ?? 'table';
  if ((OutputFormats as readonly string[]).includes(format)) return format as OutputFormat;
  throw new CliError(
    `unknown output format ${JSON.stringify(format)}; use one of ${OutputFormats.join(', ')}`,
    {
      exitCode: ExitCode.Usage,
    },
  );
}

/**
 * Renders rows as kubectl does: upper-case headers, columns padded to their widest cell and
 * separated by three spaces, `<none>` for an empty cell.
 *
 * @param headers - column titles
 * @param rows - cells, one array per row
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const cells = [
    headers.map((h) => h.toUpperCase()),
    ...rows.map((row) => row.map((cell) => (cell === '' ? '<none>' : cell))),
  ];
  const widths = headers.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  return cells
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join('   ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** Renders a value as JSON (two-space indent) or YAML, with a trailing newline. */
export function formatData(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}
