import { Migration } from '@mikro-orm/migrations';

/**
 * Delivery you can trust (issue 4): what a retried send must repeat exactly (sender, headers),
 * why a delivery failed for good, unsubscribes per email, and processed webhook events.
 */
export class Migration20261125052535 extends Migration {
  override name = 'Migration20261125052535';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "delivery" add "from_email" varchar(255) null, add "headers" jsonb null, add "failure_kind" text null, add "unsubscribed_at" timestamptz null;`,
    );
    this.addSql(
      `alter table "delivery" add constraint "delivery_failure_kind_check" check ("failure_kind" in ('invalid_recipient', 'rejected_content', 'outcome_unknown', 'provider_failed'));`,
    );
    this.addSql(
      `create table "webhook_event" ("id" varchar(255) not null, "provider" varchar(255) not null, "type" varchar(255) not null, "email_id" varchar(255) null, "delivery_id" uuid null, "received_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "webhook_event_received_at_index" on "webhook_event" ("received_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "webhook_event" cascade;`);
    this.addSql(`alter table "delivery" drop constraint "delivery_failure_kind_check";`);
    this.addSql(
      `alter table "delivery" drop column "from_email", drop column "headers", drop column "failure_kind", drop column "unsubscribed_at";`,
    );
  }
}
