export * from './api-key.js';
export * from './contact.js';
export * from './delivery.js';
export * from './enrollment.js';
export * from './event-log.js';
export * from './idempotency-key.js';
export * from './sequence.js';
export * from './sequence-version.js';
export * from './send-pacer.js';
export * from './webhook-event.js';
export * from './workspace.js';

import { ApiKey } from './api-key.js';
import { Contact } from './contact.js';
import { Delivery } from './delivery.js';
import { Enrollment } from './enrollment.js';
import { EventLog } from './event-log.js';
import { IdempotencyKey } from './idempotency-key.js';
import { Sequence } from './sequence.js';
import { SequenceVersion } from './sequence-version.js';
import { SendPacer } from './send-pacer.js';
import { WebhookEvent } from './webhook-event.js';
import { Workspace } from './workspace.js';

export const entities = [
  Workspace,
  ApiKey,
  Contact,
  Sequence,
  SequenceVersion,
  Enrollment,
  Delivery,
  EventLog,
  IdempotencyKey,
  WebhookEvent,
  SendPacer,
];
