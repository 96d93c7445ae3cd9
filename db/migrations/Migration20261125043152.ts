import { Migration } from '@mikro-orm/migrations';

/** Idempotency keys (issue 5) and the keyset indexes behind the paginated lists. */
export class Migration20261125043152 extends Migration {
  override name = 'Migration20261125043152';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "idempotency_key" ("workspace_id" uuid not null, "key" varchar(255) not null, "request_hash" varchar(255) not null, "method" varchar(255) not null, "path" text not null, "state" text not null, "locked_at" timestamptz not null, "response_status" int null, "response_headers" jsonb null, "response_body" text null, "created_at" timestamptz not null, "completed_at" timestamptz null, primary key ("workspace_id", "key"));`,
    );
    this.addSql(`create index "idempotency_key_created_at_index" on "idempotency_key" ("created_at");`);
    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "idempotency_key" add constraint "idempotency_key_state_check" check ("state" in ('in_progress', 'completed'));`,
    );

    // Lists page newest first by (created_at, id) within a workspace (keyset pagination).
    for (const table of ['contact', 'sequence', 'enrollment', 'delivery', 'api_key']) {
      this.addSql(
        `create index "${table}_workspace_page_index" on "${table}" ("workspace_id", "created_at" desc, "id" desc);`,
      );
    }
    // Filters: enrollments by contact; contacts "active in sequence X" go through enrollment.
    this.addSql(`create index "enrollment_contact_id_index" on "enrollment" ("contact_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "idempotency_key" cascade;`);
    for (const table of ['contact', 'sequence', 'enrollment', 'delivery', 'api_key']) {
      this.addSql(`drop index if exists "${table}_workspace_page_index";`);
    }
    this.addSql(`drop index if exists "enrollment_contact_id_index";`);
  }
}
