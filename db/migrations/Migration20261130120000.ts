import { Migration } from '@mikro-orm/migrations';

/**
 * Every behaviour rule (issue 3): a sequence's revision orders the fan-outs of successive
 * pauses, resumes and edits to its enrollments.
 */
export class Migration20261130120000 extends Migration {
  override name = 'Migration20261130120000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sequence" add "revision" int not null default 0;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sequence" drop column "revision";`);
  }
}
