import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { EmailSender } from '../email/sender.js';

/** What activities need from the outside world; tests pass fakes (CONVENTIONS §3). */
export interface ActivityDeps {
  orm: MikroORM;
  email: EmailSender;
  config: {
    from: string;
    /** Where unsubscribe links point. */
    publicUrl: string;
    /** Signs unsubscribe links (D7); the development secret when absent. */
    unsubscribeSecret?: string;
    /** D5: provider calls per second across every worker (the shared pacer); none when absent. */
    sendRatePerSecond?: number | null;
  };
  clock: () => Date;
  logger: Logger;
}

/** What the sequence fan-out needs besides the database: a client to signal workflows with. */
export interface FanOutDeps {
  orm: MikroORM;
  temporal: Client;
  /** Signals kept in flight at once. */
  fanOutConcurrency: number;
}
