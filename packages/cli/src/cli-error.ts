/**
 * Exit codes of `pod-identity`: 0 success; 1 the operation failed or was refused (API error, limit
 * reached, object missing or already there); 2 the command line itself is wrong (unknown flag,
 * invalid name, label or resource ID); 3 the command did its work but found objects in the cluster
 * it could not read (each is shown with its name and why).
 */
export const ExitCode = {
  Success: 0,
  Failure: 1,
  Usage: 2,
  UnreadableObjects: 3,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A failure the CLI reports as one line `error: <message>` and an exit code, without a stack trace.
 * `hint` is a second line telling the administrator what to do next.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** The process exit code. */
  readonly exitCode: ExitCode;
  /** What to do about it, if there is something to say. */
  readonly hint: string | undefined;

  constructor(
    message: string,
    options: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? ExitCode.Failure;
    this.hint = options.hint;
  }
}
