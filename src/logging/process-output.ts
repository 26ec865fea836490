import type { Logger } from 'pino';
import { safeErrorText } from './logger';

type DebugModule = { log?: unknown; formatters?: Record<string, unknown> };

/**
 * Output that would reach stdout or stderr beside the logger goes through it
 * instead (R5.1): Node's warnings, crashes, and the `debug` output of the
 * libraries (Socket.IO, engine.io, Express) when DEBUG is set.
 */
export function routeProcessOutput(logger: Logger): void {
  // Node's own listener prints warnings to stderr.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ component: 'node', name: warning.name }, safeErrorText(warning)));
  const crash = (what: string) => (reason: unknown) => {
    logger.fatal({ err: reason }, what);
    logger.flush(() => process.exit(1));
    setTimeout(() => process.exit(1), 1000).unref();
  };
  // Node's default for both: print the error (and what it carries) to stderr, exit 1.
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled promise rejection'));
  routeDebugOutput(logger);
}

/**
 * Every copy of the `debug` package that is loaded: its lines go to the
 * logger at trace level, without their arguments (packets, headers, payloads).
 */
export function routeDebugOutput(logger: Logger): void {
  const copies = new Set<DebugModule>();
  for (const [path, cached] of Object.entries(require.cache)) {
    if (/[\\/]debug[\\/]src[\\/](?:node|index)\.js$/.test(path) && cached?.exports) copies.add(cached.exports as DebugModule);
  }
  for (const debug of copies) {
    if (typeof debug !== 'function' && typeof debug !== 'object') continue;
    const formatters = debug.formatters ?? {};
    for (const letter of ['o', 'O', 'j', 's', 'd', 'i', 'c', 'h']) formatters[letter] = () => '[…]';
    debug.formatters = formatters;
    debug.log = (first: unknown) => logger.trace({ component: 'debug' }, String(first).replace(/%[a-zA-Z]/g, '[…]'));
  }
}
