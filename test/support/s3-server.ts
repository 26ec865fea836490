import { rm } from 'node:fs/promises';
import S3rver from 's3rver';
import type { S3StorageConfig } from '../../src/config/app-config';
import { makeTempDir } from './postgres-server';

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  port: number;
  /** Environment that points the app at this server. */
  env: Record<string, string>;
  storageConfig: S3StorageConfig;
  stop(): Promise<void>;
  /** Starts the server again on the same port and data (after stop()). */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  dispose(): Promise<void>;
}

/** A real S3 protocol server over HTTP on 127.0.0.1, with one bucket. */
export async function startS3Server(bucket = 'support-desk-test', port = 0): Promise<TestS3Server> {
  const directory = await makeTempDir('support-desk-s3');
  let server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  let running = true;
  const env = {
    STORAGE_DRIVER: 's3',
    S3_BUCKET: bucket,
    S3_ENDPOINT: endpoint,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
  };
  const stop = async () => {
    if (!running) return;
    running = false;
    await server.close();
  };
  return {
    endpoint,
    bucket,
    port: address.port,
    env,
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
      server = new S3rver({ address: '127.0.0.1', port: address.port, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
      await server.run();
      running = true;
    },
    dispose: async () => {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
