/** Exit codes and the one error type that carries a message for the user and the code to exit with. */

export const EXIT = {
  ok: 0,
  /** The tool answered with an error, or something else failed (registry unreachable, HTTP error). */
  failure: 1,
  usage: 2,
  /** The registry or the server refused: unknown, not approved, down, or not allowed for this caller. */
  refused: 3,
  /** Sign-in needed or failed. */
  auth: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT.failure) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
