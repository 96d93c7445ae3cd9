import { Migration } from '@mikro-orm/migrations';

export class Migration20261125041600 extends Migration {
  override name = 'Migration20261125041600';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "event_log" ("id" bigserial primary key, "workspace_id" uuid not null, "sequence_id" uuid null, "contact_id" uuid null, "enrollment_id" uuid null, "type" varchar(255) not null, "data" jsonb not null default '{}', "created_at" timestamptz not null);`,
    );
    this.addSql(`create index "event_log_enrollment_id_index" on "event_log" ("enrollment_id");`);
    this.addSql(`create index "event_log_sequence_id_index" on "event_log" ("sequence_id");`);

    this.addSql(
      `create table "workspace" ("id" uuid not null, "name" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));`,
    );

    this.addSql(
      `create table "sequence" ("id" uuid not null, "workspace_id" uuid not null, "name" varchar(255) not null, "status" text not null default 'draft', "trigger_tags" text[] not null default '{}', "exit_tags" text[] not null default '{}', "active_tag" varchar(255) null, "send_window" jsonb null, "time_zone" varchar(255) not null default 'UTC', "draft_steps" jsonb not null, "live_version" int null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "sequence" add constraint "sequence_status_check" check ("status" in ('draft', 'active', 'paused', 'deleted'));`,
    );

    this.addSql(
      `create table "sequence_version" ("id" uuid not null, "sequence_id" uuid not null, "version" int not null, "steps" jsonb not null, "published_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "sequence_version" add constraint "sequence_version_sequence_id_version_unique" unique ("sequence_id", "version");`,
    );

    this.addSql(
      `create table "contact" ("id" uuid not null, "workspace_id" uuid not null, "email" varchar(255) not null, "name" varchar(255) null, "time_zone" varchar(255) null, "attributes" jsonb not null default '{}', "tags" text[] not null default '{}', "suppression" text null, "suppressed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "contact" add constraint "contact_workspace_id_email_unique" unique ("workspace_id", "email");`,
    );
    this.addSql(
      `alter table "contact" add constraint "contact_suppression_check" check ("suppression" in ('unsubscribed', 'bounced', 'complained'));`,
    );

    this.addSql(
      `create table "enrollment" ("id" uuid not null, "workspace_id" uuid not null, "sequence_id" uuid not null, "contact_id" uuid not null, "generation" int not null, "status" text not null default 'active', "workflow_id" varchar(255) not null, "run_id" varchar(255) null, "current_step_id" varchar(255) null, "current_step_index" int null, "due_at" timestamptz null, "paused_at" timestamptz null, "ended_at" timestamptz null, "end_reason" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `create index "enrollment_workspace_id_status_index" on "enrollment" ("workspace_id", "status");`,
    );
    this.addSql(
      `alter table "enrollment" add constraint "enrollment_sequence_id_contact_id_generation_unique" unique ("sequence_id", "contact_id", "generation");`,
    );
    this.addSql(
      `alter table "enrollment" add constraint "enrollment_status_check" check ("status" in ('active', 'paused', 'completed', 'cancelled', 'failed', 'ineligible'));`,
    );

    this.addSql(
      `create table "delivery" ("id" uuid not null, "workspace_id" uuid not null, "enrollment_id" uuid not null, "sequence_id" uuid not null, "contact_id" uuid not null, "generation" int not null, "step_id" varchar(255) not null, "kind" text not null, "status" text not null, "idempotency_key" varchar(255) not null, "provider" varchar(255) not null, "provider_message_id" varchar(255) null, "to_email" varchar(255) not null, "subject" text null, "html" text null, "text" text null, "error" text null, "scheduled_at" timestamptz null, "sent_at" timestamptz null, "delivered_at" timestamptz null, "opened_at" timestamptz null, "clicked_at" timestamptz null, "bounced_at" timestamptz null, "complained_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_idempotency_key_unique" unique ("idempotency_key");`,
    );
    this.addSql(
      `create index "delivery_sequence_id_step_id_index" on "delivery" ("sequence_id", "step_id");`,
    );
    this.addSql(`create index "delivery_provider_message_id_index" on "delivery" ("provider_message_id");`);
    this.addSql(
      `alter table "delivery" add constraint "delivery_enrollment_id_generation_step_id_kind_unique" unique ("enrollment_id", "generation", "step_id", "kind");`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_kind_check" check ("kind" in ('first', 'resend'));`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_status_check" check ("status" in ('sending', 'sent', 'delivered', 'bounced', 'complained', 'failed', 'skipped'));`,
    );

    this.addSql(
      `create table "api_key" ("id" uuid not null, "workspace_id" uuid not null, "name" varchar(255) not null, "prefix" varchar(255) not null, "hash" varchar(255) not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "api_key" add constraint "api_key_hash_unique" unique ("hash");`);

    this.addSql(
      `alter table "sequence" add constraint "sequence_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id");`,
    );

    this.addSql(
      `alter table "sequence_version" add constraint "sequence_version_sequence_id_foreign" foreign key ("sequence_id") references "sequence" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "contact" add constraint "contact_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id");`,
    );

    this.addSql(
      `alter table "enrollment" add constraint "enrollment_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id");`,
    );
    this.addSql(
      `alter table "enrollment" add constraint "enrollment_sequence_id_foreign" foreign key ("sequence_id") references "sequence" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "enrollment" add constraint "enrollment_contact_id_foreign" foreign key ("contact_id") references "contact" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "delivery" add constraint "delivery_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id");`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_enrollment_id_foreign" foreign key ("enrollment_id") references "enrollment" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_sequence_id_foreign" foreign key ("sequence_id") references "sequence" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_contact_id_foreign" foreign key ("contact_id") references "contact" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "api_key" add constraint "api_key_workspace_id_foreign" foreign key ("workspace_id") references "workspace" ("id") on delete cascade;`,
    );
  }
}
