import { ValidationError } from '../errors/validation-error.js';

/**
 * The outcome of a `safeParse…` function: the typed object, or the {@link ValidationError} that
 * says which field is wrong. Informers use it to skip and report a malformed object without a
 * try/catch around every event.
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ValidationError };

/**
 * Runs a throwing parser and turns its ValidationError into a failed result. Any other error is a
 * bug in the parser and is rethrown.
 *
 * @param parse - a parser that throws ValidationError on bad input
 * @param input - what to parse
 * @returns the parser's value, or its error
 * @internal
 */
export function toParseResult<T>(parse: (input: unknown) => T, input: unknown): ParseResult<T> {
  try {
    return { ok: true, value: parse(input) };
  } catch (error) {
    if (ValidationError.is(error)) {
      return { ok: false, error };
    }
    throw error;
  }
}
