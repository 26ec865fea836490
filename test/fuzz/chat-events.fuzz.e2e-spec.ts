import { ModulesContainer } from '@nestjs/core';
import { GATEWAY_METADATA, MESSAGE_MAPPING_METADATA } from '@nestjs/websockets/constants';
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { ChatClient } from '../support/chat-client';
import { createTestApp, type TestApp } from '../support/test-app';
import { ANSWER_WITHIN_MS, BAD_IDS, BAD_NUMBERS, BAD_STRINGS, deepArray, deepObject, expectHealthy, expectNothingHalfWritten, fuzzOptions, WRONG_TYPES } from './fuzz-kit';

/**
 * Every /chat event, called with bad payloads by every kind of participant:
 * each call is acknowledged in time, with a result or `{ error: { code, message } }`,
 * and never with INTERNAL_ERROR. Events come from the gateways' own metadata;
 * one without an entry below fails the suite.
 */

/** Events bound straight to the socket rather than through @SubscribeMessage. */
const HAND_BOUND = ['message.send'];
type Role = 'customer' | 'agent' | 'privacy_officer' | 'admin';
const ROLES: Role[] = ['customer', 'agent', 'privacy_officer', 'admin'];

interface EventEntry {
  /** A valid payload's fields, whose values the fuzzer replaces. */
  fields: Record<string, 'uuid' | 'string' | 'integer' | 'array' | 'code' | 'text'>;
}

const EVENTS: Record<string, EventEntry> = {
  'conversation.open': { fields: {} },
  'queue.list': { fields: {} },
  'conversation.take': { fields: { conversationId: 'uuid' } },
  'conversation.join': { fields: { conversationId: 'uuid', afterSeq: 'integer' } },
  'conversation.leave': { fields: { conversationId: 'uuid' } },
  'conversation.close': { fields: { conversationId: 'uuid' } },
  'message.send': { fields: { conversationId: 'uuid', clientMessageId: 'string', body: 'text' } },
  'consent.request': { fields: { conversationId: 'uuid', purposes: 'array' } },
  'consent.answer': { fields: { requestId: 'uuid', decision: 'code', textHash: 'string' } },
  'consent.withdraw': { fields: { conversationId: 'uuid', purpose: 'code' } },
  'consent.list': { fields: { conversationId: 'uuid' } },
};

/** What one call sends: the arguments before the acknowledgement. */
type Args = { make: () => unknown[]; label: string };
const args = (label: string, make: () => unknown[]): Args => ({ label, make });

function gatewayEvents(app: TestApp): string[] {
  const events = new Set<string>(HAND_BOUND);
  for (const module of app.app.get(ModulesContainer).values()) {
    for (const wrapper of module.providers.values()) {
      const type = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
      if (!type || typeof type !== 'function' || !Reflect.getMetadata(GATEWAY_METADATA, type)) continue;
      const proto = type.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const method = proto[name];
        if (typeof method === 'function' && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method)) events.add(Reflect.getMetadata('message', method) as string);
      }
    }
  }
  return [...events].sort();
}

describe('fuzz: every /chat event acknowledges every call, malformed or not', () => {
  let app: TestApp;
  const clients = {} as Record<Role, ChatClient>;
  let conversationId: string;

  beforeAll(async () => {
    app = await createTestApp();
    for (const role of ROLES) clients[role] = await ChatClient.connect(app.url, await app.token(role, `fuzz-chat-${role}`));
    conversationId = (await clients.customer.call<{ conversation: { id: string } }>('conversation.open')).conversation.id;
  }, 60_000);
  afterAll(async () => {
    for (const client of Object.values(clients)) client?.close();
    await app?.close();
  });

  const valid = (kind: EventEntry['fields'][string]): unknown =>
    ({ uuid: conversationId, string: 'client-1', integer: 0, array: ['diagnostics'], code: 'diagnostics', text: 'hello' })[kind];
  const badFor = (kind: EventEntry['fields'][string]): fc.Arbitrary<unknown> => {
    const common = fc.oneof(fc.constantFrom(...WRONG_TYPES), fc.constantFrom(...BAD_STRINGS), fc.constant(deepArray(2000)));
    if (kind === 'uuid') return fc.oneof(fc.constantFrom(...BAD_IDS), common);
    if (kind === 'integer') return fc.oneof(fc.constantFrom(...BAD_NUMBERS), fc.double(), common);
    return fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('x'.repeat(200_000), 'a\u0000b', '\u0007'), common);
  };

  function fixedArgs(entry: EventEntry): Args[] {
    const base = Object.fromEntries(Object.entries(entry.fields).map(([k, t]) => [k, valid(t)]));
    const list: Args[] = [
      args('no payload', () => []),
      args('null', () => [null]),
      args('a number', () => [42]),
      args('a string', () => ['text']),
      args('an array', () => [[1, 2]]),
      args('nested 3000 deep (array)', () => [deepArray(3000)]),
      args('nested 3000 deep (object)', () => [deepObject(3000)]),
      args('huge', () => [{ ...base, pad: 'x'.repeat(400_000) }]),
      args('two arguments', () => [base, 'second']),
      args('no fields', () => [{}]),
      args('an extra field', () => [{ ...base, extra: 1 }]),
    ];
    for (const [name, kind] of Object.entries(entry.fields)) {
      for (const value of ['a\u0000b', '\u0007\u001b[0m', '   ', 2 ** 63, '9223372036854775808', 1e19, -1, deepArray(3000), ...(kind === 'uuid' ? BAD_IDS.slice(0, 3) : [])]) {
        list.push(args(`${name}=${JSON.stringify(value)?.slice(0, 40)}`, () => [{ ...base, [name]: value }]));
      }
    }
    return list;
  }

  function argsArbitrary(entry: EventEntry): fc.Arbitrary<Args> {
    const base = Object.fromEntries(Object.entries(entry.fields).map(([k, t]) => [k, valid(t)]));
    const options: fc.Arbitrary<Args>[] = [fc.jsonValue({ maxDepth: 3 }).map((v) => args(`random json ${JSON.stringify(v).slice(0, 60)}`, () => [v]))];
    for (const [name, kind] of Object.entries(entry.fields)) {
      options.push(badFor(kind).map((value) => args(`${name}=${(JSON.stringify(value) ?? String(value)).slice(0, 60)}`, () => [{ ...base, [name]: value }])));
    }
    return fc.oneof(...options);
  }

  async function call(socket: Socket, event: string, args: unknown[]): Promise<unknown> {
    return socket.timeout(ANSWER_WITHIN_MS).emitWithAck(event, ...args);
  }

  it('has an entry for every event the gateways handle, and none for an event they lack', () => {
    const events = gatewayEvents(app);
    expect(events.filter((e) => !(e in EVENTS))).toEqual([]);
    expect(Object.keys(EVENTS).filter((e) => !events.includes(e))).toEqual([]);
  });

  it('refuses a connection without a valid token with { code, message }', async () => {
    const refusal = await ChatClient.connect(app.url, 'not.a.token').then(
      () => undefined,
      (err: { data?: { code?: unknown; message?: unknown } }) => err.data,
    );
    expect(refusal).toEqual({ code: expect.any(String) as string, message: expect.any(String) as string });
  });

  it.each(Object.keys(EVENTS))('%s', async (event) => {
    const entry = EVENTS[event];
    const examples = ROLES.flatMap((role) => fixedArgs(entry).map((a) => [{ role, a }]));
    await fc.assert(
      fc.asyncProperty(fc.record({ role: fc.constantFrom(...ROLES), a: argsArbitrary(entry) }), async ({ role, a }) => {
        const what = `${event} as ${role} with ${a.label}`;
        const client = clients[role];
        let answer: unknown;
        try {
          answer = await call(client.socket, event, a.make());
        } catch {
          throw new Error(`${what}: no acknowledgement within ${ANSWER_WITHIN_MS} ms`);
        }
        if (typeof answer !== 'object' || answer === null) throw new Error(`${what}: acknowledged with ${JSON.stringify(answer)}`);
        const error = (answer as { error?: { code?: unknown; message?: unknown } }).error;
        if (error !== undefined) {
          if (typeof error.code !== 'string' || typeof error.message !== 'string') throw new Error(`${what}: an error without { code, message }: ${JSON.stringify(error)}`);
          if (error.code === 'INTERNAL_ERROR') throw new Error(`${what}: INTERNAL_ERROR`);
        }
        if (!client.socket.connected) throw new Error(`${what}: the socket was disconnected`);
      }),
      fuzzOptions(examples),
    );
    await expectHealthy(app, event);
    await expectNothingHalfWritten(app, event);
  });

  it('answers a call whose acknowledgement is not a function with an exception event', async () => {
    for (const event of Object.keys(EVENTS).filter((e) => Object.keys(EVENTS[e].fields).length > 0)) {
      const client = clients.customer;
      const seen = (client.received.exception ?? []).length;
      client.socket.emit(event, 'not an object', 'not a function');
      await client.until((r) => (r.exception ?? []).length > seen, ANSWER_WITHIN_MS).catch(() => {
        throw new Error(`${event}: no exception event for a malformed call without an acknowledgement`);
      });
    }
  });

  it('answers an event no handler takes, instead of leaving the call hanging', async () => {
    for (const event of ['nope', 'message.sendx', '__proto__', 'constructor', ' conversation.open']) {
      await expect(call(clients.agent.socket, event, [{ x: 1 }])).resolves.toEqual({ error: { code: 'UNKNOWN_EVENT', message: 'There is no such event' } });
    }
  });
});
