/** Structured fields of a log line (`namespace`, `pod`, `node`, `identity`, `durationMs`, `err`, …). */
export type LogFields = Record<string, unknown>;

/** A level {@link Logger.isLevelEnabled} can be asked about. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The logger the daemons and adapters write to. It is pino's shape, so a pino logger fits as is, and
 * an embedder can pass any logger that takes a fields object and a message. Messages are lower-case;
 * client IDs are redacted before they reach a field, and no token or secret is ever a field.
 */
export interface Logger {
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogFields): Logger;
  /**
   * Whether lines of `level` are written; lets a hot path skip building fields nobody reads. When
   * absent, every level counts as enabled.
   */
  isLevelEnabled?(level: LogLevel): boolean;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};
