import 'reflect-metadata';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { Clock } from '../clock/clock';
import { formatBytes, summaryTable, withAppContext } from './cli-context';

const USAGE = `Usage: npm run retention -- report
What is stored per retention tag, and what expires in the next 7 and 30 days,
in the configured database (DATABASE_URL, or the embedded PostgreSQL).`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'report') {
    process.stderr.write(`${USAGE}\n`);
    return argv[0] === '--help' ? 0 : 2;
  }
  return withAppContext(async (app) => {
    const artifacts = app.get(ArtifactsService);
    const now = app.get(Clock).now();
    const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
    const stored = await artifacts.storedTotals();
    const week = new Map((await artifacts.expiring(now, days(7))).map((e) => [e.tag, e]));
    const month = new Map((await artifacts.expiring(now, days(30))).map((e) => [e.tag, e]));
    const overdue = await artifacts.overdue(now, 1000);
    const byTag = new Map<string, { items: number; bytes: number }>();
    for (const s of stored) {
      const t = byTag.get(s.tag) ?? { items: 0, bytes: 0 };
      t.items += s.items;
      t.bytes += s.bytes;
      byTag.set(s.tag, t);
    }
    const table = summaryTable(['tag', 'stored items', 'stored bytes', 'expire in 7 days', 'expire in 30 days']);
    for (const tag of [...new Set([...byTag.keys(), ...month.keys()])].sort()) {
      const s = byTag.get(tag) ?? { items: 0, bytes: 0 };
      table.push([tag, s.items, formatBytes(s.bytes), week.get(tag)?.items ?? 0, month.get(tag)?.items ?? 0]);
    }
    process.stdout.write(`Retention report at ${now.toISOString()}\n${table.toString()}\nOverdue (past retain_until, not purged): ${overdue.length}\n`);
    for (const o of overdue.slice(0, 20)) process.stdout.write(`  ${o.id} ${o.kind} ${o.tag}: ${o.why}\n`);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
