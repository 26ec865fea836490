import 'reflect-metadata';
import { SingleBar, Presets } from 'cli-progress';
import { parseArgs } from 'node:util';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { Clock } from '../clock/clock';
import { PurgeService } from '../retention/purge.service';
import { formatBytes, summaryTable, withAppContext } from './cli-context';

const USAGE = `Usage: npm run purge -- [--dry-run] [--max <items>]
       npm run purge -- --reconcile [--dry-run]
Runs one purge (or the reconciler) against the configured database and store:
DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is unset.
--dry-run   show what would go, change nothing
--max       most items to purge in this run (default PURGE_MAX_ITEMS_PER_RUN)`;

async function main(): Promise<number> {
  let values: { 'dry-run'?: boolean; max?: string; reconcile?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { 'dry-run': { type: 'boolean' }, max: { type: 'string' }, reconcile: { type: 'boolean' }, help: { type: 'boolean' } } }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    process.stderr.write(`--max must be a whole number of items, at least 1\n${USAGE}\n`);
    return 2;
  }
  const dryRun = values['dry-run'] === true;
  return withAppContext(async (app) => {
    const purge = app.get(PurgeService);
    if (values.reconcile) {
      const report = await purge.reconcile({ dryRun, trigger: 'command' });
      if (!report) {
        process.stdout.write('Another reconcile is running (on some instance); nothing done.\n');
        return 0;
      }
      const table = summaryTable(['', 'count']);
      table.push(
        ['objects checked', report.checkedObjects],
        ['rows checked', report.checkedRows],
        ['objects without a row', report.orphanCount],
        ['rows without their object', report.missingCount],
        ['objects outside the layout (left alone)', report.foreignCount],
        ['orphans deleted', report.deletedOrphans],
        ['missing marked', report.markedMissing],
      );
      process.stdout.write(`${dryRun ? 'Reconcile (dry run: nothing changed)' : 'Reconcile'}\n${table.toString()}\n${report.aborted ? `${report.aborted}\n` : ''}`);
      return report.failures.length > 0 || report.aborted ? 1 : 0;
    }
    const due = (await app.get(ArtifactsService).dueTotals(app.get(Clock).now(), max ?? Number.MAX_SAFE_INTEGER)).reduce((sum, t) => sum + t.items, 0);
    const bar = new SingleBar({ format: ' {bar} {value}/{total} items', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
    if (process.stderr.isTTY) bar.start(due, 0);
    const run = await purge.run({ trigger: 'command', dryRun, cap: max, onProgress: (done) => process.stderr.isTTY && bar.update(Math.min(done, due)) });
    if (process.stderr.isTTY) bar.stop();
    if (run.status === 'skipped') {
      process.stdout.write('Another purge is running (on some instance); nothing done.\n');
      return 0;
    }
    const table = summaryTable(['kind', 'purpose', 'tag', 'items', 'bytes']);
    for (const t of run.totals) table.push([t.kind, t.purpose, t.tag, t.items, formatBytes(t.bytes)]);
    table.push([{ colSpan: 3, content: dryRun ? 'would purge' : 'purged' }, run.itemsPurged, formatBytes(run.bytesPurged)]);
    process.stdout.write(
      `${dryRun ? 'Purge (dry run: nothing changed)' : 'Purge'} ${run.id} ${run.status}\n${table.toString()}\n` +
        `Kept by legal holds: ${run.itemsHeld}\n` +
        (run.failures.length > 0 ? `Failures (left unchanged, the next run retries):\n${run.failures.map((f) => `  ${f.artifactId}: ${f.reason}`).join('\n')}\n` : ''),
    );
    return run.status === 'failed' || run.failures.length > 0 ? 1 : 0;
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
