/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/**
 * The logger MIC writes to: pino's shape (a pino logger fits), so embedders can pass their own.
 * Messages are lower-case; client IDs are redacted before they reach a field.
 */
export interface Logger {
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
  child(bindings: LogFields): Logger;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
