/** The paginated, filtered lists (issue 5): every query scoped to the caller's workspace. */
import { raw, type FilterQuery } from '@mikro-orm/postgresql';
import {
  Contact,
  Delivery,
  Enrollment,
  LIVE_ENROLLMENT_STATUSES,
  Sequence,
  type DeliveryStatus,
  type EnrollmentStatus,
  type SequenceStatus,
} from '../../db/entities/index.js';
import type { ServiceContext } from '../context.js';
import { findPage, type PageParams } from '../pagination.js';

export interface ContactFilters extends PageParams {
  tag?: string;
  /** `none`: not suppressed; `any`: suppressed for whatever reason; or one reason. */
  suppression?: 'none' | 'any' | 'unsubscribed' | 'bounced' | 'complained';
  /** Contacts with a live (active or paused) enrollment in this sequence. */
  activeInSequence?: string;
  email?: string;
}

export function listContacts(ctx: ServiceContext, filters: ContactFilters) {
  const where: FilterQuery<Contact> & Record<string, unknown> = { workspace: ctx.workspaceId };
  if (filters.tag !== undefined) where.tags = { $contains: [filters.tag] };
  if (filters.email !== undefined) where.email = filters.email.trim().toLowerCase();
  if (filters.suppression === 'none') where.suppression = null;
  else if (filters.suppression === 'any') where.suppression = { $ne: null };
  else if (filters.suppression) where.suppression = filters.suppression;
  if (filters.activeInSequence !== undefined) {
    const live = LIVE_ENROLLMENT_STATUSES.map((s) => `'${s}'`).join(', ');
    const exists = raw(
      (alias) =>
        `exists (select 1 from enrollment e where e.contact_id = ${alias}.id and e.sequence_id = ? and e.status in (${live}))`,
      [filters.activeInSequence],
    ) as unknown as string;
    where[exists] = true;
  }
  return findPage(ctx.em, Contact, where, filters);
}

export interface EnrollmentFilters extends PageParams {
  sequenceId?: string;
  contactId?: string;
  status?: EnrollmentStatus[];
}

export function listEnrollments(ctx: ServiceContext, filters: EnrollmentFilters) {
  const where: FilterQuery<Enrollment> & Record<string, unknown> = { workspace: ctx.workspaceId };
  if (filters.sequenceId !== undefined) where.sequence = filters.sequenceId;
  if (filters.contactId !== undefined) where.contact = filters.contactId;
  if (filters.status?.length) where.status = { $in: filters.status };
  return findPage(ctx.em, Enrollment, where, filters);
}

export interface DeliveryFilters extends PageParams {
  enrollmentId?: string;
  sequenceId?: string;
  contactId?: string;
  status?: DeliveryStatus[];
}

export function listDeliveries(ctx: ServiceContext, filters: DeliveryFilters) {
  const where: FilterQuery<Delivery> & Record<string, unknown> = { workspace: ctx.workspaceId };
  if (filters.enrollmentId !== undefined) where.enrollment = filters.enrollmentId;
  if (filters.sequenceId !== undefined) where.sequence = filters.sequenceId;
  if (filters.contactId !== undefined) where.contact = filters.contactId;
  if (filters.status?.length) where.status = { $in: filters.status };
  return findPage(ctx.em, Delivery, where, filters);
}

export interface SequenceFilters extends PageParams {
  status?: Exclude<SequenceStatus, 'deleted'>[];
}

/** Deleted sequences are gone as far as the API is concerned (S6). */
export function listSequences(ctx: ServiceContext, filters: SequenceFilters) {
  const where: FilterQuery<Sequence> & Record<string, unknown> = {
    workspace: ctx.workspaceId,
    status: filters.status?.length ? { $in: filters.status } : { $ne: 'deleted' },
  };
  return findPage(ctx.em, Sequence, where, filters);
}
