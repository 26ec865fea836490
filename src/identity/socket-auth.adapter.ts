import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/postgres-adapter';
import { Pool } from 'pg';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { AppConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import { mapError } from '../errors/error-mapping';
import { guardSocketPayloads } from '../http/socket-payload-guard';
import { addressTracker, requestAddress } from '../rate-limit/client-address';
import type { RateLimitService } from '../rate-limit/rate-limit.service';
import { bearerToken } from './auth.guard';
import type { SocketData } from './principal-of';
import { type TokenService } from './token.service';

type Next = (err?: Error) => void;

export interface SocketAdapterOptions {
  /** Set to span rooms across instances through PostgreSQL (SOCKET_ADAPTER=postgres). */
  postgresUrl?: string;
}

/** Events with a budget of their own (chat sends count in ConversationsService, for socket and REST alike). */
const OWN_BUDGET = new Set(['message.send']);

/**
 * Socket.IO with the same token check as HTTP, at the handshake, on every
 * namespace: a socket without a valid token never connects. The refusal
 * arrives as `connect_error` whose `data` is `{ code, message }`.
 * With a PostgreSQL URL, rooms span every instance on that database.
 */
export class SocketAuthAdapter extends IoAdapter {
  private pool?: Pool;
  /** Open sockets per principal on this instance (SOCKETS_PER_PRINCIPAL_MAX). */
  private readonly open = new Map<string, number>();

  constructor(
    app: INestApplicationContext,
    private readonly tokens: TokenService,
    private readonly rateLimits: RateLimitService,
    private readonly config: AppConfig,
    private readonly options: SocketAdapterOptions = {},
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options);
    if (this.options.postgresUrl) {
      this.pool ??= new Pool({ connectionString: this.options.postgresUrl, max: 4, application_name: 'support-desk-sockets' });
      this.pool.on('error', () => undefined); // a dropped connection is re-established by the adapter
      server.adapter(createAdapter(this.pool, { tableName: 'socket_io_attachments' }));
    }
    const authenticate = (socket: Socket, next: Next) => void this.authenticate(socket, next);
    server.use(authenticate);
    server.on('new_namespace', (namespace) => namespace.use(authenticate));
    // Every event's payload is checked for depth and size before any handler sees it.
    const guard = (socket: Socket, next: Next) => {
      guardSocketPayloads(socket);
      next();
    };
    server.use(guard);
    server.on('new_namespace', (namespace) => namespace.use(guard));
    return server;
  }

  override async close(server: Server): Promise<void> {
    await super.close(server);
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private async authenticate(socket: Socket, next: Next): Promise<void> {
    const fromAuth = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const token = typeof fromAuth === 'string' ? fromAuth : bearerToken(socket.handshake.headers.authorization);
    try {
      this.checkOrigin(socket);
      let session;
      try {
        if (!token) throw new DomainException('UNAUTHENTICATED', 'Connect with a bearer token (auth.token)');
        session = await this.tokens.verifySession(token);
      } catch (err) {
        // Failed handshakes count against the address, like failed sign-ins over HTTP.
        await this.rateLimits.take('anonymous', addressTracker(requestAddress(socket.request, this.config.http.trustProxyHops)));
        throw err;
      }
      const { principal, expiresAt } = session;
      const tracker = `${principal.kind}:${principal.subject}`;
      // A connection costs like a request: a principal cannot open sockets in a loop.
      await this.rateLimits.take('principal', tracker);
      this.admit(socket, tracker, expiresAt);
      (socket.data as SocketData).principal = principal;
      socket.use((packet, proceed) => (OWN_BUDGET.has(packet[0]) ? proceed() : void this.budget(socket, tracker, packet, proceed)));
      next();
    } catch (err) {
      const body =
        err instanceof DomainException
          ? mapError(err, '').body
          : { code: 'UNAUTHENTICATED', message: 'The connection could not be authenticated' };
      next(Object.assign(new Error(body.message), { data: body }));
    }
  }

  /**
   * Browsers send their page's origin: only the service's own, loopback and
   * SOCKET_ALLOWED_ORIGINS may open a socket (another site's page could
   * otherwise drive a signed-in customer's socket). Clients that are not
   * browsers send none and carry their token.
   */
  private checkOrigin(socket: Socket): void {
    const origin = socket.handshake.headers.origin;
    if (!origin) return;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new DomainException('ORIGIN_NOT_ALLOWED', 'This page may not open a connection to the service');
    }
    const host = socket.handshake.headers.host;
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (loopback || url.host === host || this.config.socketAllowedOrigins.includes(url.origin)) return;
    throw new DomainException('ORIGIN_NOT_ALLOWED', 'This page may not open a connection to the service');
  }

  /**
   * At most SOCKETS_PER_PRINCIPAL_MAX sockets per principal here, counted until
   * each is gone; and none outlives its token (the lifetime cap would mean
   * nothing for a socket kept open for days).
   */
  private admit(socket: Socket, tracker: string, expiresAt: number): void {
    const max = this.config.limits.socketsPerPrincipal;
    const count = this.open.get(tracker) ?? 0;
    if (count >= max) throw new DomainException('TOO_MANY_CONNECTIONS', `At most ${max} connections at once; close one first`);
    this.open.set(tracker, count + 1);
    const expiry = setTimeout(() => {
      socket.emit('exception', { code: 'UNAUTHENTICATED', message: 'The access token has expired; connect again with a new one' });
      socket.disconnect(true);
    }, Math.max(0, Math.min(expiresAt - Date.now(), 2 ** 31 - 1)));
    expiry.unref();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(expiry);
      const left = (this.open.get(tracker) ?? 1) - 1;
      if (left <= 0) this.open.delete(tracker);
      else this.open.set(tracker, left);
    };
    // A transport that closes before the socket finished connecting never says 'disconnect'.
    socket.once('disconnect', release);
    socket.conn.once('close', release);
  }

  /** Every event but a chat send takes from the principal's budget, the same one REST requests use. */
  private async budget(socket: Socket, tracker: string, packet: unknown[], proceed: (err?: Error) => void): Promise<void> {
    try {
      await this.rateLimits.take('principal', tracker);
      proceed();
    } catch (err) {
      const { body } = mapError(err, '');
      const ack = packet[packet.length - 1];
      socket.emit('exception', body);
      if (typeof ack === 'function') (ack as (answer: unknown) => void)({ error: body });
    }
  }
}
