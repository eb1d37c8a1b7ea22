/** How the store reports what it repaired or refused. */

/**
 * Where the store reports what it repaired or refused. The argument order is pino's, so a pino
 * logger can be passed as is.
 */
export interface StoreLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything (for tests that do not look at the reports). */
export const silentLogger: StoreLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
});

/** The default logger: warnings go to stderr as one line, info is dropped. */
export const stderrLogger: StoreLogger = Object.freeze({
  info: () => undefined,
  warn: (details: Record<string, unknown>, message: string) => {
    process.stderr.write(`statekeeper store: ${message} ${JSON.stringify(details)}\n`);
  },
});
