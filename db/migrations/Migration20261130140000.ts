import { Migration } from '@mikro-orm/migrations';

/** D5: the shared pacer that spaces provider calls across every worker (activities/send-pacer.ts). */
export class Migration20261130140000 extends Migration {
  override name = 'Migration20261130140000';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "send_pacer" ("id" text not null, "next_at" timestamptz not null, primary key ("id"));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "send_pacer";`);
  }
}
