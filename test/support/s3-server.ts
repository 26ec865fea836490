import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { S3StorageConfig } from '../../src/config/app-config';
import { makeTempDir } from './postgres-server';

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  port: number;
  /** Environment that points the app at this server. */
  env: Record<string, string>;
  storageConfig: S3StorageConfig;
  /** Stops the server (an outage); its data stays for restart(). */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data. */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  dispose(): Promise<void>;
}

const MAIN = join(__dirname, 's3rver-main.js');

async function launch(directory: string, bucket: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', MAIN, directory, bucket, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A real S3 protocol server over HTTP on 127.0.0.1, in its own process, with one bucket. */
export async function startS3Server(bucket = 'support-desk-test'): Promise<TestS3Server> {
  const directory = await makeTempDir('support-desk-s3');
  const launched = await launch(directory, bucket, 0);
  const port = launched.port;
  let child = launched.child;
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => terminate(child);
  return {
    endpoint,
    bucket,
    port,
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    storageConfig: {
      driver: 's3',
      bucket,
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      checksums: 'WHEN_REQUIRED',
      partSizeBytes: 5 * 1024 * 1024,
      queueSize: 2,
    },
    stop,
    restart: async () => {
      await stop();
      ({ child } = await launch(directory, bucket, port));
    },
    dispose: async () => {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
