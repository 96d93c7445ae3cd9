import { Migration } from '@mikro-orm/migrations';

/**
 * D5: the pacer remembers the last departures (a sliding window) instead of one next slot, so
 * a call that left late is counted when it left (activities/send-pacer.ts).
 */
export class Migration20261130210000 extends Migration {
  override name = 'Migration20261130210000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "send_pacer" add column "departures" timestamptz[] not null default '{}';`);
    this.addSql(`alter table "send_pacer" drop column "next_at";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "send_pacer" add column "next_at" timestamptz not null default now();`);
    this.addSql(`alter table "send_pacer" drop column "departures";`);
  }
}
