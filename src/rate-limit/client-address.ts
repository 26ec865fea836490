import { normalizeIp } from '@nestjs/throttler';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The tracker of a client without a token: its address, with an IPv6 address
 * taken by its /64 (one subscriber holds the whole prefix, so counting single
 * addresses would let them rotate through 2^64) and `::ffff:a.b.c.d` as
 * `a.b.c.d`.
 */
export function addressTracker(ip: string | undefined): string {
  return `address:${ip ? normalizeIp(ip, 64) : 'unknown'}`;
}

/**
 * The client's address on a raw request (a socket handshake), as Express's
 * `req.ip` finds it: with `hops` trusted proxies in front, the entry of
 * X-Forwarded-For that the nearest untrusted hop wrote.
 */
export function requestAddress(request: IncomingMessage, hops: number): string | undefined {
  const peer = request.socket?.remoteAddress;
  if (hops <= 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((a) => a.trim()).filter(Boolean);
  // The chain, nearest last: peer, then what each trusted proxy appended.
  const chain = [...forwarded, ...(peer ? [peer] : [])];
  const candidate = chain[Math.max(0, chain.length - 1 - hops)];
  return candidate && isIP(candidate) ? candidate : peer;
}
