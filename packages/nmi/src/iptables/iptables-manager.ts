import { execFile } from 'node:child_process';
import type { Logger } from '@pod-identity/core';
import { deleteConntrackEntries, type ConntrackRunner } from './delete-conntrack-entries.js';
import {
  buildIptablesRules,
  isChainCurrent,
  type IptablesRuleOptions,
  type IptablesRules,
} from './iptables-rules.js';

/** Runs `iptables` with arguments; resolves with the exit code and output, never rejects on a non-zero exit. */
export type IptablesRunner = (
  args: readonly string[],
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Options of {@link createIptablesManager}. */
export interface IptablesManagerOptions extends IptablesRuleOptions {
  /** Runs iptables. Default `iptables -w` (waits for the xtables lock) via `execFile`. */
  runner?: IptablesRunner;
  /** How often the rules are checked and repaired (`--ipt-update-interval-sec`). Default 60 s. */
  updateIntervalMs?: number;
  /** Logger. */
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * `--enable-conntrack-deletion`: after the first successful install, delete the conntrack entries
   * of TCP connections to the metadata endpoint (see `deleteConntrackEntries`), so connections
   * opened before the redirect existed stop bypassing it. `true` runs `conntrack` from `PATH`.
   * Default false.
   */
  conntrackDeletion?: boolean | { runner?: ConntrackRunner };
}

/** Installs, checks, repairs and removes NMI's redirect rules. */
export interface IptablesManager {
  /** The rules it manages. */
  readonly rules: IptablesRules;
  /**
   * Makes the rules current (creates or repairs); resolves true when it changed anything. The first
   * time it succeeds it also deletes the metadata connections' conntrack entries, if enabled.
   */
  ensure(): Promise<boolean>;
  /** Ensures now, then every interval until `abortSignal` aborts or `stop()`. Rejects if the first ensure fails. */
  start(abortSignal?: AbortSignal): Promise<void>;
  /** Stops the interval. */
  stop(): void;
  /** Removes the jump and the chain (SIGTERM). Resolves false if a step failed. */
  cleanup(): Promise<boolean>;
  /** Whether the rules have been installed at least once (the probe's `Active`). */
  readonly installed: boolean;
}

/** The default runner: `iptables -w <args>`. */
export const defaultIptablesRunner: IptablesRunner = (args) =>
  new Promise((resolve) => {
    execFile('iptables', ['-w', ...args], (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
    });
  });

/**
 * The iptables manager of the original NMI: at start and then every interval, it checks that
 * `-t nat -S aad-metadata` lists exactly the expected rules and that PREROUTING jumps to the chain;
 * if anything differs it flushes and re-creates the chain. `cleanup()` removes it all on shutdown.
 * @param options - rule settings, runner, interval
 */
export function createIptablesManager(options: IptablesManagerOptions = {}): IptablesManager {
  const rules = buildIptablesRules(options);
  const run = options.runner ?? defaultIptablesRunner;
  const intervalMs = options.updateIntervalMs ?? 60_000;
  const logger = options.logger;
  let timer: NodeJS.Timeout | undefined;
  let installed = false;
  const conntrack = options.conntrackDeletion ?? false;
  const conntrackRunner = typeof conntrack === 'object' ? conntrack.runner : undefined;

  const must = async (args: readonly string[]): Promise<string> => {
    const result = await run(args);
    if (result.code !== 0)
      throw new Error(
        `iptables ${args.join(' ')} failed (${String(result.code)}): ${result.stderr.trim()}`,
      );
    return result.stdout;
  };

  const ensure = async (): Promise<boolean> => {
    let changed = false;
    const listed = await run(rules.listChain);
    if (listed.code !== 0 || !isChainCurrent(listed.stdout, rules)) {
      logger?.info({ chain: rules.chain }, 'flushing iptables to add aad-metadata custom chains');
      if (listed.code !== 0) await must(rules.createChain);
      await must(rules.flushChain);
      for (const rule of rules.chainRules) await must(rule);
      changed = true;
    }
    if ((await run(rules.checkJump)).code !== 0) {
      await must(rules.insertJump);
      changed = true;
    }
    if (!installed && conntrack !== false) {
      // Only now does a fresh lookup of an old connection meet the DNAT rule. Failures are logged
      // by deleteConntrackEntries and never stop NMI.
      await deleteConntrackEntries({
        metadataIp: rules.metadataIp,
        metadataPort: rules.metadataPort,
        ...(conntrackRunner === undefined ? {} : { runner: conntrackRunner }),
        ...(logger === undefined ? {} : { logger }),
      });
    }
    installed = true;
    return changed;
  };

  return {
    rules,
    ensure,
    get installed() {
      return installed;
    },
    async start(abortSignal) {
      await ensure();
      if (abortSignal?.aborted === true) return;
      timer = setInterval(() => {
        ensure().catch((error: unknown) =>
          logger?.error({ err: error }, 'failed to repair iptables rules'),
        );
      }, intervalMs);
      timer.unref();
      abortSignal?.addEventListener(
        'abort',
        () => {
          clearInterval(timer);
        },
        { once: true },
      );
    },
    stop() {
      clearInterval(timer);
    },
    async cleanup() {
      clearInterval(timer);
      let ok = true;
      for (const step of rules.cleanup) {
        const result = await run(step);
        if (result.code !== 0) {
          ok = false;
          logger?.warn(
            { args: step.join(' '), stderr: result.stderr.trim() },
            'iptables cleanup step failed',
          );
        }
      }
      return ok;
    },
  };
}
