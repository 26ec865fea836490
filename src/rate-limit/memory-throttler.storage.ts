import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';

interface Window {
  /** Start of the current fixed window (ms). */
  start: number;
  current: number;
  previous: number;
  ttl: number;
}

/**
 * Counters in this instance's memory, O(1) a hit with nothing allocated on
 * the way: chat sends take from it once per message (bench:chat). A sliding
 * window estimate (the last window's count, weighted by how much of it still
 * overlaps, plus this window's) rather than a log of every hit.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.hit(key, ttl, limit));
  }

  /** One hit, answered at once; a refused hit is not counted (waiting is what lifts it). */
  hit(key: string, ttl: number, limit: number): ThrottlerStorageRecord {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w) {
      w = { start: now, current: 0, previous: 0, ttl };
      this.windows.set(key, w);
    } else if (now - w.start >= ttl) {
      const passed = Math.floor((now - w.start) / ttl);
      w.previous = passed === 1 ? w.current : 0;
      w.current = 0;
      w.start += passed * ttl;
    }
    const elapsed = now - w.start;
    const carried = w.previous * (1 - elapsed / ttl);
    const timeToExpire = Math.max(1, Math.ceil((ttl - elapsed) / 1000));
    if (carried + w.current + 1 > limit) {
      // When the estimate drops below the limit: at the window's end if this window alone is full,
      // else once enough of the last window has slid out.
      const waitMs = w.current + 1 > limit || w.previous === 0 ? ttl - elapsed : ttl * (1 - (limit - w.current - 1) / w.previous) - elapsed;
      return { totalHits: w.current + Math.ceil(carried) + 1, timeToExpire, isBlocked: true, timeToBlockExpire: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    w.current += 1;
    return { totalHits: w.current + Math.ceil(carried), timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.windows.clear();
  }

  /** A window two lengths old counts for nothing: dropped, so clients that come once (or rotate addresses) do not pile up. */
  sweep(): void {
    const now = this.now();
    for (const [key, w] of this.windows) if (now - w.start >= 2 * w.ttl) this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }
}
