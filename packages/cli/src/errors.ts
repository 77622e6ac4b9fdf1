/**
 * Exit codes scripts can rely on (docs/cli.md lists them). One catalogue:
 * every failure is a CliError with one of these, printed as one line.
 */
export const EXIT = {
  OK: 0,
  /** The command ran and found something wrong: a service not ready, files that differ, submissions refused. */
  FINDINGS: 1,
  /** Bad usage: unknown option, missing argument, a malformed date. */
  USAGE: 2,
  /** A service (or RabbitMQ, Clowder) could not be reached or answered with an error. */
  UNREACHABLE: 3,
  /** A service refused the token. */
  AUTH: 4,
  /** What was named does not exist or is not what the command needs: unknown site, not a dead-letter queue, a date range no log covers. */
  NOT_FOUND: 5,
  /** The operator declined a confirmation (or one was needed and stdin is not a terminal). */
  DECLINED: 6,
  /** Bad configuration (environment or site file), as the services (EX_CONFIG). */
  CONFIG: 78,
  /** Interrupted (Ctrl-C): stopped cleanly after the step in progress. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCode, readonly code: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (m: string) => new CliError(m, EXIT.USAGE, 'USAGE');
export const notFound = (m: string, code = 'NOT_FOUND') => new CliError(m, EXIT.NOT_FOUND, code);
export const unreachable = (m: string) => new CliError(m, EXIT.UNREACHABLE, 'UNREACHABLE');
export const unauthorized = (m: string) => new CliError(m, EXIT.AUTH, 'UNAUTHORIZED');
