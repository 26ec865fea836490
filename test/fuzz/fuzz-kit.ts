import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { BLOB_STORE, type BlobStore } from '../../src/storage/blob-store';
import { withClient } from '../support/postgres-server';
import type { TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait-until';

/** Replay a failure with the seed fast-check prints: FUZZ_SEED=<seed> npx jest test/fuzz. */
export const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
/** Random cases per route or event, on top of the fixed ones; kept small so the suite stays lean. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 6);
/** Every answer, to anything, within this. */
export const ANSWER_WITHIN_MS = 5000;

export const fuzzOptions = (examples: unknown[][] = []) => ({ seed: SEED, numRuns: RUNS + examples.length, examples, endOnFailure: true, verbose: 1 }) as const;

/** A few thousand levels: deeper than any DTO, shallow enough for the client's own encoder (sockets). */
export const deepArray = (depth = 3000): unknown => JSON.parse(deepText(depth, 'array'));
export const deepObject = (depth = 3000): unknown => JSON.parse(deepText(depth, 'object'));
export const deepText = (depth: number, kind: 'array' | 'object') => (kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '{}' + '}'.repeat(depth));

/** Stands for nesting deeper than JSON.stringify can write; `toJson` writes it as text. */
export class Deep {
  constructor(
    readonly depth: number,
    readonly kind: 'array' | 'object' = 'array',
  ) {}
  toJSON(): string {
    return `__deep_${this.kind}_${this.depth}__`;
  }
}

export function toJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/"__deep_(array|object)_(\d+)__"/g, (_, kind: 'array' | 'object', depth: string) => deepText(Number(depth), kind));
}

/** Text that a column cannot hold or a rule must refuse. */
export const BAD_STRINGS = ['\u0000', 'a\u0000b', 'ok\u0007\u001b[31m', '\u0008\u007f', '   ', '\t\n ', '', '\u200b', '\ud800', 'ȅ̷̡̛̗̯̙͓̜̼̫̻̝͐̾̀̌̒', '𝕏🙂'.repeat(50)];
/** Numbers past what int4, int8 and a JS number hold, negative, fractional, not numbers. */
export const BAD_NUMBERS: unknown[] = [
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  2 ** 63,
  1e19,
  1e308,
  '9223372036854775808',
  '18446744073709551616',
  '99999999999999999999999999',
  '-9223372036854775809',
  'NaN',
  'Infinity',
  '-0',
  '0x10',
  '1e3',
  ' 1',
];
export const WRONG_TYPES: unknown[] = [null, true, 0, [], {}, ['a', 'b'], { nested: { x: 1 } }];
export const BAD_DATES = ['0000-00-00', '2026-02-30T00:00:00Z', '+275760-09-13T00:00:00Z', '9999-12-31T23:59:59Z', '1970-01-01T00:00:00+25:00'];
export const BAD_IDS = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', 'x'.repeat(300), '%00', '..%2F..%2Fetc', '%E0%A4%A', '%F0%9F%98', '1e400', '-1'];

export const anyString = fc.oneof(
  fc.constantFrom(...BAD_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 1, maxLength: 5 }).map((s) => s.repeat(2000)),
  fc.constantFrom(' padded ', '\u0000'.repeat(10), 'a'.repeat(10_001)),
);
export const anyNumber = fc.oneof(fc.constantFrom(...BAD_NUMBERS), fc.double(), fc.integer(), fc.bigInt({ min: 2n ** 62n, max: 2n ** 80n }).map(String));
export const anyJson = fc.oneof(fc.constantFrom(...WRONG_TYPES), fc.jsonValue({ maxDepth: 3 }), fc.constant(deepArray(2000)), fc.constant(deepObject(2000)));

/** Bad values for a field, by what it is: its OpenAPI type, else the type of its valid sample. */
export function badValues(type: string, format?: string): fc.Arbitrary<unknown> {
  const generic = fc.oneof(anyJson, anyString, anyNumber);
  if (type === 'integer' || type === 'number') return fc.oneof({ weight: 3, arbitrary: anyNumber }, { weight: 1, arbitrary: generic });
  if (type === 'string' && format === 'uuid') return fc.oneof(fc.constantFrom(...BAD_IDS), generic);
  if (type === 'string' && (format === 'date-time' || format === 'date')) return fc.oneof(fc.constantFrom(...BAD_DATES), generic);
  if (type === 'string') return fc.oneof({ weight: 3, arbitrary: anyString }, { weight: 1, arbitrary: generic });
  return generic;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

/** One HTTP exchange with full control of the bytes; `status: 0` when nothing came back in time. */
export function exchange(
  url: string,
  options: { method: string; headers?: Record<string, string>; body?: Buffer | string; chunks?: Array<Buffer | string>; endRequest?: boolean; timeoutMs?: number },
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...answer, ms: Date.now() - started });
    };
    const req = httpRequest(url, { method: options.method, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    const timer = setTimeout(() => done({ status: 0, headers: {}, text: 'no answer in time' }), options.timeoutMs ?? ANSWER_WITHIN_MS);
    req.on('error', (err) => done({ status: -1, headers: {}, text: `connection error: ${err.message}` }));
    if (options.chunks) for (const chunk of options.chunks) req.write(chunk);
    if (options.body !== undefined) req.write(options.body);
    if (options.endRequest !== false) req.end();
  });
}

/** The contract: below 500, in time, and every refusal is `{ code, message }`. */
export function expectContract(answer: Answer, what: string): void {
  const problem = contractProblem(answer);
  if (problem) throw new Error(`${what}: ${problem} (status ${answer.status}, ${answer.ms} ms): ${answer.text.slice(0, 300)}`);
}

export function contractProblem(answer: Answer): string | undefined {
  if (answer.status === 0) return `no answer within ${ANSWER_WITHIN_MS} ms`;
  if (answer.status < 0) return 'the connection failed before an answer';
  if (answer.status >= 500) return 'a server error';
  if (answer.ms > ANSWER_WITHIN_MS) return 'too slow';
  if (answer.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return 'a refusal without a JSON body';
    }
    const { code, message } = (body ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' || typeof message !== 'string') return 'a refusal without { code, message }';
  }
  return undefined;
}

/** Still ready after whatever came before. */
export async function expectHealthy(app: TestApp, what: string): Promise<void> {
  const answer = await exchange(`${app.url}/health/ready`, { method: 'GET' });
  if (answer.status !== 200) throw new Error(`${what}: /health/ready answered ${answer.status}: ${answer.text.slice(0, 200)}`);
}

/** Nothing half-written: no pending row, no object without a row, no row claiming an object that is not there. */
export async function expectNothingHalfWritten(app: TestApp, what: string): Promise<void> {
  const store = app.app.get<BlobStore>(BLOB_STORE);
  let last = '';
  try {
    await waitUntil(async () => {
      const rows = await withClient(app.database.url, (c) =>
        c.query<{ state: string; storage_key: string | null }>(`SELECT state, storage_key FROM artifacts`),
      );
      const pending = rows.rows.filter((r) => r.state === 'pending').length;
      const keys = new Set(rows.rows.filter((r) => r.storage_key).map((r) => r.storage_key!));
      const orphans: string[] = [];
      for await (const entry of store.list('')) if (!keys.has(entry.key)) orphans.push(entry.key);
      last = `${pending} pending row(s), objects without a row: ${JSON.stringify(orphans)}`;
      return pending === 0 && orphans.length === 0;
    }, what, 3000);
  } catch {
    throw new Error(`${what}: half-written: ${last}`);
  }
}
