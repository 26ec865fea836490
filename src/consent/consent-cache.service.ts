import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { RuntimeOptions } from '../runtime-options';
import { safeErrorText } from '../logging/logger';

/** Channel the ledger trigger notifies (payload: the customer id, or `*` when purposes change). */
export const CONSENT_CHANNEL = 'consent_changes';

const HEARTBEAT_MS = 2_000;
/** A heartbeat not back within this long means notifications may be lost: stop caching. */
const HEARTBEAT_DEADLINE_MS = 1_000;
const RECONNECT_MS = 1_000;
/** Upper bound on an entry's life, whatever happens. */
const ENTRY_TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

interface Entry<T> {
  value: T;
  customerId: string;
  expiresAt: number;
}

/**
 * The gate's answers, kept in memory only while this instance provably hears
 * every change to the ledger (design invariant 3 stays the truth):
 * - every insert into consent_events notifies CONSENT_CHANNEL with its
 *   customer, delivered at commit to every instance's listener, which drops
 *   that customer's entries;
 * - the instance that committed a decision drops them itself before it
 *   answers (invalidate()), so on that instance the very next check reads it;
 * - an answer read while any invalidation happened is not kept (epoch);
 * - the listener proves itself every 2 s with a numbered heartbeat it sends
 *   and must hear back through the server within 1 s; a lost connection or a
 *   late heartbeat empties the cache and turns it off until the listener is
 *   back. A silently dead connection is thus noticed within about 3 s.
 * Decisions that must not wait even that long (the phone system's recording
 * permission) read the ledger directly (ConsentGate.read).
 */
@Injectable()
export class ConsentCacheService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ConsentCacheService.name);
  private readonly entries = new Map<string, Entry<unknown>>();
  private readonly instance = randomUUID();
  private client?: Client;
  /** Which listener is current; events of an older one are ignored. */
  private generation = 0;
  private healthy = false;
  private epoch = 0;
  private closed = false;
  private heartbeat?: NodeJS.Timeout;
  private beatNumber = 0;
  private heartbeatDue?: NodeJS.Timeout;
  private reconnect?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runtime: RuntimeOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.runtime.startupTasks) await this.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.disable();
    clearTimeout(this.reconnect);
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** True while answers may be kept. */
  get active(): boolean {
    return this.healthy;
  }

  /** Read before a database read; pass it to set() so an answer overtaken by a change is not kept. */
  currentEpoch(): number {
    return this.epoch;
  }

  get<T>(key: string): T | undefined {
    if (!this.healthy) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value as T;
  }

  set<T>(key: string, customerId: string, value: T, epochAtRead: number): void {
    if (!this.healthy || epochAtRead !== this.epoch) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, customerId, expiresAt: Date.now() + ENTRY_TTL_MS });
  }

  /** Drops a customer's answers (or all, with `*`). Called after commit, and for every notification. */
  invalidate(customerId: string): void {
    this.epoch += 1;
    if (customerId === '*') {
      this.entries.clear();
      return;
    }
    for (const [key, entry] of this.entries) if (entry.customerId === customerId) this.entries.delete(key);
  }

  private disable(): void {
    this.healthy = false;
    this.epoch += 1;
    this.entries.clear();
    clearTimeout(this.heartbeatDue);
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    const options = this.dataSource.options as { url?: string };
    const client = new Client({
      connectionString: options.url,
      application_name: 'support-desk-consent-listener',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('error', (err) => this.lost(generation, client, err));
    client.on('end', () => this.lost(generation, client));
    client.on('notification', (message) => {
      if (generation !== this.generation || message.channel !== CONSENT_CHANNEL || !message.payload) return;
      if (message.payload.startsWith('heartbeat:')) {
        if (message.payload === `heartbeat:${this.instance}:${this.beatNumber}`) clearTimeout(this.heartbeatDue);
        return;
      }
      this.invalidate(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CONSENT_CHANNEL}`);
    } catch (err) {
      this.lost(generation, client, err);
      return;
    }
    if (generation !== this.generation || this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.epoch += 1;
    this.entries.clear();
    this.healthy = true;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    const client = this.client;
    const generation = this.generation;
    if (!client || !this.healthy) return;
    clearTimeout(this.heartbeatDue);
    this.heartbeatDue = setTimeout(() => {
      this.logger.warn('consent change notifications are late; answering from the database until they are back');
      this.lost(generation, client);
    }, HEARTBEAT_DEADLINE_MS);
    this.heartbeatDue.unref();
    // Sent on the listening connection itself (a session hears its own notifications):
    // it proves that connection and the server's delivery, and needs nothing from the pool.
    const beat = ++this.beatNumber;
    await client.query(`SELECT pg_notify($1, $2)`, [CONSENT_CHANNEL, `heartbeat:${this.instance}:${beat}`]).catch(() => undefined);
  }

  private lost(generation: number, client: Client, err?: unknown): void {
    if (generation !== this.generation) return;
    this.generation += 1; // later events of this client are ignored
    if (this.healthy) {
      this.logger.warn(`consent change listener lost${err instanceof Error ? ` (${safeErrorText(err)})` : ''}; not caching until it is back`);
    }
    this.disable();
    clearInterval(this.heartbeat);
    this.client = undefined;
    void client.end().catch(() => undefined);
    if (this.closed) return;
    clearTimeout(this.reconnect);
    this.reconnect = setTimeout(() => void this.listen(), RECONNECT_MS);
    this.reconnect.unref();
  }
}
