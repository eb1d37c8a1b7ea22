/**
 * Where the TCP bus reports links going up and down and peers it refused. The argument order is
 * pino's, so a pino logger can be passed as is.
 */
export interface TcpBusLogger {
  debug?(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything. */
export const silentTcpBusLogger: TcpBusLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
});

/** The default logger: warnings (refused or misbehaving peers) go to stderr as one line each. */
export const stderrTcpBusLogger: TcpBusLogger = Object.freeze({
  info: () => undefined,
  warn: (details: Record<string, unknown>, message: string) => {
    process.stderr.write(`statekeeper bus: ${message} ${JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  },
});
