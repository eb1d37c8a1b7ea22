/**
 * Where the client port reports connections it refused or closed and sessions it opened. The
 * argument order is pino's, so a pino logger can be passed as is.
 */
export interface ZkServerLogger {
  debug?(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error?(details: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything. */
export const silentZkLogger: ZkServerLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
});

function json(details: Record<string, unknown>): string {
  return JSON.stringify(details, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** The default logger: warnings and errors go to stderr as one line each; info and debug are dropped. */
export const stderrZkLogger: ZkServerLogger = Object.freeze({
  info: () => undefined,
  warn: (details: Record<string, unknown>, message: string) => {
    process.stderr.write(`statekeeper zk: ${message} ${json(details)}\n`);
  },
  error: (details: Record<string, unknown>, message: string) => {
    process.stderr.write(`statekeeper zk: ${message} ${json(details)}\n`);
  },
});
