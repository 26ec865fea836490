// A real S3 protocol server in a process of its own, for tests and benchmarks.
// s3rver signs list continuation tokens with DES, which OpenSSL 3 keeps in its
// legacy provider: the parent starts this with --openssl-legacy-provider.
// Usage: node --openssl-legacy-provider s3rver-main.js <directory> <bucket> [port]
const S3rver = require('s3rver');

const [directory, bucket, port] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port ?? 0),
  silent: true,
  directory,
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
