// mig's exit status, one meaning each (README "Exit status" lists them).
export const EXIT = {
  /** The command did what it says (`migrate`: both ends reported completed). */
  ok: 0,
  /** The migration ended without completing: failed, cancelled, or the target did not report completed. */
  migrationFailed: 1,
  /** Bad command line: unknown command or option, a missing or malformed value. */
  usage: 2,
  /** A QMP endpoint could not be reached (nothing listening, not QMP, no greeting in time). */
  unreachable: 3,
  /** A QMP command was refused (its error reply is printed), e.g. migrate while one runs. */
  refused: 4,
  /** Stopped by Ctrl-C (`migrate` cancels the migration first). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure that ends a command with a given exit status and a message for the person. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode: ExitCode) {
    super(message);
  }
}
