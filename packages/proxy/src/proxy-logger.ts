/** The logging this package needs; a pino logger fits it, so the package does not depend on pino. */
export interface ProxyLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Discards everything: the default where a caller passes no logger. */
export const silentLogger: ProxyLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
