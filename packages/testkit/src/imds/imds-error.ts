/** A refusal of the IMDS emulator's token endpoint: status, OAuth error and description. */
export class ImdsError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
  }
}
