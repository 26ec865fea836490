import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { hostname } from 'node:os';
import type { DataSource } from 'typeorm';
import { ArtifactsService, type PurgeCandidate } from '../artifacts/artifacts.service';
import { mapLimited } from '../common/map-limited';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { ADVISORY_LOCKS } from '../database/advisory-locks';
import { ConversationsService } from '../conversations/conversations.service';
import { BLOB_STORE, type BlobStore } from '../storage/blob-store';
import { conversationHeldCondition } from './legal-holds.service';
import { RetentionPoliciesService } from './retention-policies.service';
import type { PurgeFailure, PurgeStatus, PurgeTotal, PurgeTrigger } from './purge-run.entity';
import { safeErrorText } from '../logging/logger';

const BATCH = 500;
/** How many keys or ids a reconcile report names; it counts them all. */
const REPORT_LIMIT = 1000;
/** How many orphans, and how many missing objects, one reconcile repairs; the next one goes on. */
const REPAIR_LIMIT = 100_000;
/**
 * A store holding none of our rows' objects is the wrong one (a bucket name, an
 * unmounted disk); so is one where more than this many rows miss their objects,
 * or objects their rows, and they are most of it.
 */
const SUSPECT = 10;
/** Keys the service writes: `<purpose>/<2 hex>/<artifact id>`. */
const ARTIFACT_KEY = /^[a-z][a-z0-9_]{1,39}\/[0-9a-f]{2}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ReconcileReport {
  dryRun: boolean;
  checkedObjects: number;
  checkedRows: number;
  orphanCount: number;
  foreignCount: number;
  missingCount: number;
  /** Objects no row points at (the first REPORT_LIMIT). */
  orphans: string[];
  /** Objects outside the service's layout: reported, never touched (the first REPORT_LIMIT). */
  foreign: string[];
  /** Stored rows whose object is missing (the first REPORT_LIMIT). */
  missing: string[];
  deletedOrphans: number;
  markedMissing: number;
  failures: PurgeFailure[];
  /** Set when the repair was refused because the store looks wrong. */
  aborted?: string;
}

export interface PurgeRunView {
  id: string | null;
  instance: string;
  trigger: PurgeTrigger;
  dryRun: boolean;
  status: PurgeStatus;
  startedAt: string;
  finishedAt: string | null;
  itemsPurged: number;
  bytesPurged: number;
  itemsHeld: number;
  totals: PurgeTotal[];
  failures: PurgeFailure[];
}

interface RunRow {
  id: string;
  instance: string;
  trigger: PurgeTrigger;
  dry_run: boolean;
  status: PurgeStatus;
  started_at: Date;
  finished_at: Date | null;
  items_purged: number;
  bytes_purged: string;
  items_held: number;
  totals: PurgeTotal[];
  failures: PurgeFailure[];
}

const toView = (r: RunRow): PurgeRunView => ({
  id: r.id,
  instance: r.instance,
  trigger: r.trigger,
  dryRun: r.dry_run,
  status: r.status,
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  itemsPurged: r.items_purged,
  bytesPurged: Number(r.bytes_purged),
  itemsHeld: r.items_held,
  totals: r.totals,
  failures: r.failures,
});

/**
 * The purge (R10.2, R10.5). One run at a time across instances (advisory
 * lock). It first completes what an earlier run left `purging`, then claims
 * due, unheld items in batches by retain_until (re-checked as it claims),
 * deletes their objects in batches, and turns each row whose object is gone
 * into a tombstone. An item whose object could not be deleted goes back to
 * `stored` and is named in the run's failures. Safe to kill at any point.
 */
@Injectable()
export class PurgeService {
  private readonly logger = new Logger(PurgeService.name);
  readonly instance = `${hostname()}:${process.pid}`;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly artifacts: ArtifactsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly conversations: ConversationsService,
    private readonly policies: RetentionPoliciesService,
  ) {}

  /** One run; `skipped` (and no record) when another instance is running one. */
  async run(options: { trigger: PurgeTrigger; dryRun?: boolean; cap?: number; onProgress?: (done: number) => void }): Promise<PurgeRunView> {
    const done = await this.withLock(ADVISORY_LOCKS.purge, () => this.locked(options));
    if (done) return done;
    const now = this.clock.now().toISOString();
    return { id: null, instance: this.instance, trigger: options.trigger, dryRun: options.dryRun ?? false, status: 'skipped', startedAt: now, finishedAt: now, itemsPurged: 0, bytesPurged: 0, itemsHeld: 0, totals: [], failures: [] };
  }

  /**
   * R10.5: objects no row points at (orphans) and stored rows whose object
   * is missing, reported; unless a dry run, orphans are deleted and missing
   * ones become tombstones that say so. Only keys in the service's own layout
   * count as orphans; anything else in the bucket is reported, never touched.
   * No grace period is needed: a capture writes its row before its object,
   * and removes its object before its row. One reconcile at a time
   * (`undefined` when another holds its lock); purges do not wait for it (a
   * withdrawal's purge must not), so what it found is checked again before
   * it is reported: an object a purge deleted meanwhile is no orphan, a row a
   * purge claimed meanwhile is not missing. Memory stays bounded: the report
   * names the first REPORT_LIMIT of each, counts all, and one pass repairs
   * at most REPAIR_LIMIT of each (the next pass goes on).
   */
  async reconcile(options: { dryRun: boolean; trigger?: 'schedule' | 'command' }): Promise<ReconcileReport | undefined> {
    return this.withLock(ADVISORY_LOCKS.reconcile, () => this.reconcileLocked(options));
  }

  private async reconcileLocked(options: { dryRun: boolean; trigger?: 'schedule' | 'command' }): Promise<ReconcileReport> {
    const now = this.clock.now();
    const report: ReconcileReport = {
      dryRun: options.dryRun,
      checkedObjects: 0,
      checkedRows: 0,
      orphanCount: 0,
      foreignCount: 0,
      missingCount: 0,
      orphans: [],
      foreign: [],
      missing: [],
      deletedOrphans: 0,
      markedMissing: 0,
      failures: [],
    };
    const orphans: string[] = [];
    const missing: string[] = [];
    let batch: string[] = [];
    const flush = async () => {
      const found = await this.artifacts.keysWithoutRow(batch);
      report.orphanCount += found.length;
      orphans.push(...found.slice(0, REPAIR_LIMIT - orphans.length));
      batch = [];
    };
    for await (const entry of this.store.list('')) {
      report.checkedObjects += 1;
      if (!ARTIFACT_KEY.test(entry.key)) {
        report.foreignCount += 1;
        if (report.foreign.length < REPORT_LIMIT) report.foreign.push(entry.key);
        continue;
      }
      batch.push(entry.key);
      if (batch.length >= 1000) await flush();
    }
    await flush();
    for (let after: string | null = null; ; ) {
      const page = await this.artifacts.storedPage(after, 500);
      if (page.length === 0) break;
      report.checkedRows += page.length;
      const heads = await mapLimited(page, 16, async (row) => ({ row, head: await this.store.head(row.storage_key) }));
      for (const h of heads.filter((h) => !h.head)) {
        report.missingCount += 1;
        if (missing.length < REPAIR_LIMIT) missing.push(h.row.id);
      }
      after = page[page.length - 1].id;
    }
    // A purge may run meanwhile (it does not wait for the reconciler): what it purged while we looked is not lost.
    const stillOrphans = await this.confirmOrphans(orphans);
    report.orphanCount -= orphans.length - stillOrphans.length;
    orphans.splice(0, orphans.length, ...stillOrphans);
    const stillMissing = await this.artifacts.stillStored(missing);
    report.missingCount -= missing.length - stillMissing.length;
    missing.splice(0, missing.length, ...stillMissing);
    report.orphans = orphans.slice(0, REPORT_LIMIT);
    report.missing = missing.slice(0, REPORT_LIMIT);
    // A wrong bucket or an unmounted directory lists nothing, or someone else's objects: that must not
    // tombstone our rows nor delete their objects.
    const found = report.checkedRows - report.missingCount;
    const suspect =
      (report.missingCount > 0 && (found === 0 || (report.missingCount > SUSPECT && report.missingCount > report.checkedRows / 2))) ||
      (report.orphanCount > SUSPECT && report.orphanCount > report.checkedObjects / 2);
    if (!options.dryRun && suspect) {
      report.aborted = `${report.missingCount} of ${report.checkedRows} stored items have no object and ${report.orphanCount} of ${report.checkedObjects} objects have no row: the store looks wrong; nothing was changed`;
    } else if (!options.dryRun) {
      if (orphans.length > 0) {
        const result = await this.store.deleteMany(orphans);
        report.deletedOrphans = result.deleted.length;
        report.failures.push(...result.failed.slice(0, REPORT_LIMIT).map((f) => ({ artifactId: f.key, reason: f.reason })));
      }
      report.markedMissing = await this.artifacts.markMissing(missing, null, now);
    }
    if (!options.dryRun) {
      await this.audit.record({
        actor: { kind: 'system', id: null, role: null },
        action: 'retention.reconcile',
        target: { type: 'store', id: this.store.driver },
        outcome: report.aborted ? 'refused' : 'allowed',
        details: {
          trigger: options.trigger ?? 'command',
          objects: report.checkedObjects,
          rows: report.checkedRows,
          orphans: report.orphanCount,
          deletedOrphans: report.deletedOrphans,
          missing: report.missingCount,
          markedMissing: report.markedMissing,
        },
      });
    }
    return report;
  }

  /** Of orphan candidates, those whose object is still there and that still have no row. */
  private async confirmOrphans(keys: string[]): Promise<string[]> {
    const present = (await mapLimited(keys, 16, async (key) => ((await this.store.head(key)) ? key : null))).filter((k): k is string => k !== null);
    const confirmed: string[] = [];
    for (let i = 0; i < present.length; i += 1000) confirmed.push(...(await this.artifacts.keysWithoutRow(present.slice(i, i + 1000))));
    return confirmed;
  }

  /** Runs `work` holding an advisory lock (one at a time across instances); `undefined` when it is taken. */
  private async withLock<T>(lock: number, work: () => Promise<T>): Promise<T | undefined> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [lock])) as Array<{ locked: boolean }>;
      if (!locked) return undefined;
      try {
        return await work();
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [lock]);
      }
    } finally {
      await runner.release();
    }
  }

  async runs(limit: number): Promise<PurgeRunView[]> {
    const rows = await this.dataSource.query<RunRow[]>(`SELECT * FROM purge_runs ORDER BY started_at DESC, id LIMIT $1`, [limit]);
    return rows.map(toView);
  }

  private async locked(options: { trigger: PurgeTrigger; dryRun?: boolean; cap?: number; onProgress?: (done: number) => void }): Promise<PurgeRunView> {
    const cap = options.cap ?? this.config.purge.maxItemsPerRun;
    const dryRun = options.dryRun ?? false;
    // Holding the lock, any other run still `running` was killed: its record says so; its items are repaired below.
    await this.dataSource.query(`UPDATE purge_runs SET status = 'failed', finished_at = $1 WHERE status = 'running'`, [this.clock.now()]);
    const [run] = await this.dataSource.query<RunRow[]>(
      `INSERT INTO purge_runs (instance, trigger, dry_run, status, started_at) VALUES ($1, $2, $3, 'running', $4) RETURNING *`,
      [this.instance, options.trigger, dryRun, this.clock.now()],
    );
    const totals = new Map<string, PurgeTotal>();
    const failures: PurgeFailure[] = [];
    let purged = 0;
    const add = (key: Omit<PurgeTotal, 'items' | 'bytes'>, items: number, bytes: number) => {
      if (items === 0) return;
      const k = `${key.kind}|${key.purpose}|${key.tag}`;
      const total = totals.get(k) ?? { ...key, items: 0, bytes: 0 };
      total.items += items;
      total.bytes += bytes;
      totals.set(k, total);
    };
    const count = (rows: PurgeCandidate[]) => {
      for (const r of rows) add({ kind: r.kind, purpose: r.purpose, tag: r.retention_tag }, 1, Number(r.size ?? 0));
      purged += rows.length;
      options.onProgress?.(purged);
    };
    let status: PurgeStatus = 'completed';
    let held = 0;
    try {
      const now = this.clock.now();
      // Chat message bodies follow their conversation's transcript tag (support_chat, from the close);
      // call records follow call_metadata (from the close).
      const bodies = await this.policies.get('support_chat');
      const calls = await this.policies.get('call_metadata');
      const MESSAGES = { kind: 'chat_message', purpose: 'support', tag: 'support_chat' };
      const CALLS = { kind: 'call_metadata', purpose: 'support', tag: 'call_metadata' };
      if (dryRun) {
        for (const t of await this.artifacts.dueTotals(now, cap)) {
          add(t, t.items, t.bytes);
          purged += t.items;
        }
        held = await this.artifacts.heldDueCount(now);
        const messages = await this.conversations.expiredBodiesTotals(bodies.duration, now, conversationHeldCondition('c', '$2'));
        add(MESSAGES, messages.messages, messages.bytes);
        add(CALLS, await this.conversations.expiredCallMetadataCount(calls.duration, now, conversationHeldCondition('c', '$2')), 0);
      } else {
        await this.artifacts.markRevokedConsents();
        // What a crashed or failed run left half done, first.
        for (let stuck = await this.artifacts.stuckInPurging(BATCH, run.id); stuck.length > 0 && purged < cap; stuck = await this.artifacts.stuckInPurging(BATCH, run.id)) {
          const batch = await this.purgeBatch(stuck, run.id, failures, false);
          count(batch.done);
          if (batch.failed >= stuck.length) break; // all of them failed again: the store is down
        }
        const claimDue = async () => {
          while (purged < cap) {
            const claimed = await this.artifacts.claimForPurge(now, Math.min(BATCH, cap - purged), run.id, failures.map((f) => f.artifactId).filter((id) => id !== '*'));
            if (claimed.length === 0) return;
            const batch = await this.purgeBatch(claimed, run.id, failures, true);
            count(batch.done);
            if (batch.failed >= claimed.length) return; // nothing got through (the store is down): the next run retries
          }
        };
        await claimDue();
        held = await this.artifacts.heldDueCount(now);
        for (;;) {
          const erased = await this.conversations.eraseExpiredBodies(bodies.duration, now, BATCH, conversationHeldCondition('c', '$2'));
          if (erased.conversations === 0) break;
          add(MESSAGES, erased.messages, erased.bytes);
        }
        for (;;) {
          const erased = await this.conversations.eraseExpiredCallMetadata(calls.duration, now, BATCH, conversationHeldCondition('c', '$2'));
          if (erased === 0) break;
          add(CALLS, erased, 0);
        }
        // A withdrawal while this run held the lock could not start its own (R10.4): its items are taken now.
        await claimDue();
      }
    } catch (err) {
      status = 'failed';
      failures.push({ artifactId: '*', reason: safeErrorText(err) });
      this.logger.error(`purge run failed: ${safeErrorText(err)}`);
    }
    if (status === 'completed' && failures.length > 0) status = 'partial';
    const totalList = [...totals.values()];
    const bytes = totalList.reduce((sum, t) => sum + t.bytes, 0);
    const [[finished]] = await this.dataSource.query<[RunRow[], number]>(
      `UPDATE purge_runs SET status = $2, finished_at = $3, items_purged = $4, bytes_purged = $5, totals = $6, failures = $7, items_held = $8
        WHERE id = $1 RETURNING *`,
      [run.id, status, this.clock.now(), purged, bytes, JSON.stringify(totalList), JSON.stringify(failures.slice(0, 1000)), held],
    );
    if (!dryRun && (purged > 0 || failures.length > 0)) {
      await this.audit.record({
        actor: { kind: 'system', id: null, role: null },
        action: 'retention.purge',
        target: { type: 'purge_run', id: run.id },
        outcome: 'allowed',
        details: { trigger: options.trigger, items: purged, bytes, failures: failures.length },
      });
    }
    return toView(finished);
  }

  /**
   * Deletes a batch's objects, then tombstones the rows whose objects are
   * gone; the rest go back unchanged. Each item is checked again right before
   * its object goes (R10.2): held now, or no longer due, it stays. An item a
   * killed run left may have lost its object already: it goes back only if
   * its object is still there (a row must never point at nothing).
   */
  private async purgeBatch(claimed: PurgeCandidate[], runId: string, failures: PurgeFailure[], fresh: boolean): Promise<{ done: PurgeCandidate[]; failed: number }> {
    const mustStay = new Set(await this.artifacts.notDueNow(claimed.map((r) => r.id), this.clock.now()));
    let back = claimed.filter((r) => mustStay.has(r.id));
    const unsure = new Set<string>();
    if (!fresh && back.length > 0) {
      const checked = await mapLimited(back, 16, async (r) => {
        if (r.storage_key === null) return { r, there: false };
        try {
          return { r, there: (await this.store.head(r.storage_key)) !== undefined };
        } catch (err) {
          failures.push({ artifactId: r.id, reason: err instanceof Error ? err.message : 'the store could not be reached' });
          unsure.add(r.id);
          return { r, there: false };
        }
      });
      back = checked.filter((c) => c.there).map((c) => c.r);
    }
    await this.artifacts.unclaim(back.map((r) => r.id));
    const staying = new Set(back.map((r) => r.id));
    // Items whose object a killed run deleted already are completed, held or not: the data is gone.
    const rows = claimed.filter((r) => !staying.has(r.id) && !unsure.has(r.id) && (!fresh || !mustStay.has(r.id)));
    const withKey = rows.filter((r) => r.storage_key !== null);
    let deleted = new Set<string>();
    const failedKeys = new Map<string, { reason: string; uncertain: boolean }>();
    if (withKey.length > 0) {
      try {
        const result = await this.store.deleteMany(withKey.map((r) => r.storage_key!));
        deleted = new Set(result.deleted);
        for (const f of result.failed) failedKeys.set(f.key, { reason: f.reason, uncertain: f.uncertain ?? false });
      } catch (err) {
        const reason = err instanceof Error ? err.message : 'the store could not be reached';
        for (const r of withKey) failedKeys.set(r.storage_key!, { reason, uncertain: true });
      }
    }
    const gone = rows.filter((r) => r.storage_key === null || deleted.has(r.storage_key)).map((r) => r.id);
    const failed = rows.filter((r) => r.storage_key !== null && !deleted.has(r.storage_key));
    for (const r of failed) {
      const f = failedKeys.get(r.storage_key!);
      failures.push({ artifactId: r.id, reason: f?.uncertain ? `${f.reason} (it may be gone: the next run checks)` : (f?.reason ?? 'not deleted') });
    }
    // Only what surely still exists goes back to `stored`; a delete whose outcome is unknown stays `purging`,
    // for the next run to check its object (a row must never point at nothing).
    await this.artifacts.unclaim(failed.filter((r) => !failedKeys.get(r.storage_key!)?.uncertain).map((r) => r.id));
    return { done: await this.artifacts.tombstone(gone, runId, this.clock.now()), failed: failed.length + unsure.size };
  }
}
