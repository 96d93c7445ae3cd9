import { Migration } from '@mikro-orm/migrations';

/** Indexes the entity metadata cannot express: partial and GIN. */
export class Migration20261125041700 extends Migration {
  override name = 'Migration20261125041700';

  override up(): void {
    // E10: at most one live (active or paused) enrollment per (sequence, contact), whatever
    // races the API, triggers and retries run into.
    this.addSql(
      `create unique index "enrollment_one_live_per_contact" on "enrollment" ("sequence_id", "contact_id") where "status" in ('active', 'paused');`,
    );
    // Contacts are searched by tag (triggers, lists, "active in sequence X" via its tag).
    this.addSql(`create index "contact_tags_gin" on "contact" using gin ("tags");`);
    this.addSql(
      `create index "enrollment_sequence_id_status_index" on "enrollment" ("sequence_id", "status");`,
    );
  }

  override down(): void {
    this.addSql(`drop index "enrollment_one_live_per_contact";`);
    this.addSql(`drop index "contact_tags_gin";`);
    this.addSql(`drop index "enrollment_sequence_id_status_index";`);
  }
}
