import { execFile } from 'node:child_process';
import type { Logger } from '@pod-identity/core';
import { isIpv4 } from './iptables-rules.js';

/** Which connections to forget: TCP whose original destination is the metadata endpoint. */
export interface ConntrackTarget {
  /** IMDS address (`--metadata-ip`). Default `169.254.169.254`. */
  metadataIp?: string;
  /** IMDS port (`--metadata-port`). Default 80. */
  metadataPort?: number;
}

/**
 * Runs `conntrack` with arguments. Resolves with the exit code and output (also for a non-zero
 * exit); rejects only when the program could not be started (a `NodeJS.ErrnoException`, `ENOENT`
 * when it is not installed) or `abortSignal` aborted.
 */
export type ConntrackRunner = (
  args: readonly string[],
  abortSignal?: AbortSignal,
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** What {@link deleteConntrackEntries} did. */
export type ConntrackDeletion =
  | { readonly outcome: 'deleted'; readonly count: number }
  | { readonly outcome: 'not-installed' }
  | { readonly outcome: 'failed'; readonly message: string };

/** Options of {@link deleteConntrackEntries}. */
export interface DeleteConntrackEntriesOptions extends ConntrackTarget {
  /** Runs conntrack. Default {@link defaultConntrackRunner}. */
  runner?: ConntrackRunner;
  /** Where the outcome is logged: one info line, or one warning when nothing could be deleted. */
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Stops waiting for conntrack (the child is killed). */
  abortSignal?: AbortSignal;
}

/**
 * The `conntrack` arguments that delete every tracked TCP connection whose original destination is
 * the metadata endpoint, e.g. `-D -p tcp --orig-dst 169.254.169.254 --orig-port-dst 80`. Pure.
 *
 * @param target - metadata address and port
 * @returns the argument list (without the leading `conntrack`)
 * @throws TypeError on an address that is not IPv4 or a port outside 1-65535
 */
export function buildConntrackDeleteArgs(target: ConntrackTarget = {}): readonly string[] {
  const metadataIp = target.metadataIp ?? '169.254.169.254';
  const metadataPort = target.metadataPort ?? 80;
  if (!isIpv4(metadataIp))
    throw new TypeError(`metadataIp must be an IPv4 address, got ${metadataIp}`);
  if (!Number.isInteger(metadataPort) || metadataPort < 1 || metadataPort > 65535)
    throw new TypeError('metadataPort must be a port number');
  return ['-D', '-p', 'tcp', '--orig-dst', metadataIp, '--orig-port-dst', String(metadataPort)];
}

/**
 * A runner for the `conntrack` program at `command` (a name looked up on `PATH`, or a path).
 * @param command - the program; default `conntrack`
 */
export function createConntrackRunner(command = 'conntrack'): ConntrackRunner {
  return (args, abortSignal) =>
    new Promise((resolve, reject) => {
      execFile(
        command,
        args,
        abortSignal === undefined ? {} : { signal: abortSignal },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ code: 0, stdout, stderr });
            return;
          }
          // A numeric code is the program's exit status; a string code (ENOENT, EACCES) or an
          // abort means it never ran to completion.
          if (typeof error.code === 'number') {
            resolve({ code: error.code, stdout, stderr });
            return;
          }
          const notRun: Error = error;
          reject(notRun);
        },
      );
    });
}

/** The default runner: `conntrack` from `PATH` (Debian package `conntrack`). */
export const defaultConntrackRunner: ConntrackRunner = createConntrackRunner();

// conntrack-tools reports on stderr "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted."
const DELETED_SUMMARY = /(\d+) flow entr(?:y|ies) ha(?:s|ve) been deleted/;

/**
 * Deletes the kernel's conntrack entries of TCP connections to the metadata endpoint
 * (`--enable-conntrack-deletion`). NAT is decided on a connection's first packet only, so a pod's
 * connection to IMDS opened before the redirect existed keeps reaching IMDS directly; once its entry
 * is gone, its next packet is looked up afresh and meets the DNAT rule. Call it after the rule is in
 * place (the iptables manager does so after its first install).
 *
 * Never throws for conntrack's sake: a missing program or a failure is logged as one warning and
 * returned, so NMI keeps serving. Rejects only when `abortSignal` aborts.
 *
 * @param options - metadata endpoint, runner, logger, abort signal
 * @returns how many entries were deleted, or why none could be
 * @throws TypeError on an invalid metadata address or port
 */
export async function deleteConntrackEntries(
  options: DeleteConntrackEntriesOptions = {},
): Promise<ConntrackDeletion> {
  const args = buildConntrackDeleteArgs(options);
  const run = options.runner ?? defaultConntrackRunner;
  const logger = options.logger;
  const endpoint = `${options.metadataIp ?? '169.254.169.254'}:${String(options.metadataPort ?? 80)}`;
  let result: Awaited<ReturnType<ConntrackRunner>>;
  try {
    result = await run(args, options.abortSignal);
  } catch (error) {
    if (options.abortSignal?.aborted === true) throw options.abortSignal.reason;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      logger?.warn(
        { endpoint },
        'conntrack is not installed: connections to the metadata endpoint opened before the redirect keep bypassing nmi until they close',
      );
      return { outcome: 'not-installed' };
    }
    const message = error instanceof Error ? error.message : String(error);
    logger?.warn({ endpoint, err: error }, 'could not run conntrack to reset metadata connections');
    return { outcome: 'failed', message };
  }
  const summary = DELETED_SUMMARY.exec(result.stderr);
  // conntrack exits 1 when nothing matched; with the summary line present that is success with 0.
  if (summary !== null && (result.code === 0 || summary[1] === '0')) {
    const count = Number(summary[1]);
    logger?.info({ endpoint, count }, 'deleted conntrack entries of metadata connections');
    return { outcome: 'deleted', count };
  }
  const message = `conntrack ${args.join(' ')} failed (${String(result.code)}): ${result.stderr.trim()}`;
  logger?.warn(
    { endpoint, code: result.code, stderr: result.stderr.trim() },
    'conntrack failed to delete metadata connections',
  );
  return { outcome: 'failed', message };
}
