/** Entity → response shapes: one place that decides what the API shows. */
import type {
  ApiKey,
  Contact,
  Delivery,
  Enrollment,
  Sequence,
  SequenceVersion,
} from '../db/entities/index.js';
import type { StepDefinition } from '../workflows/plan.js';
import type { TaggedContact } from './services/tags.js';

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

export function contactResponse(contact: Contact) {
  return {
    id: contact.id,
    email: contact.email,
    name: contact.name ?? null,
    timeZone: contact.timeZone ?? null,
    attributes: contact.attributes,
    tags: contact.tags,
    suppression: contact.suppression ?? null,
    suppressedAt: iso(contact.suppressedAt),
    createdAt: contact.createdAt.toISOString(),
    updatedAt: contact.updatedAt.toISOString(),
  };
}

/** The contact, plus what the tags the request applied set off (E6, E11). */
export function taggedContactResponse({ contact, triggered, completed }: TaggedContact) {
  return { ...contactResponse(contact), triggered, completed };
}

function stepResponse(step: StepDefinition) {
  return {
    id: step.id,
    name: step.name,
    delay: step.delay,
    expiresAfter: step.expiresAfter ?? null,
    subject: step.subject,
    html: step.html,
    text: step.text ?? null,
  };
}

export function sequenceResponse(sequence: Sequence, live: SequenceVersion | null) {
  return {
    id: sequence.id,
    name: sequence.name,
    status: sequence.status,
    triggerTags: sequence.triggerTags,
    exitTags: sequence.exitTags,
    activeTag: sequence.activeTag ?? null,
    sendWindow: sequence.sendWindow ?? null,
    timeZone: sequence.timeZone,
    draftSteps: sequence.draftSteps.map(stepResponse),
    liveVersion: sequence.liveVersion ?? null,
    liveSteps: live ? live.steps.map(stepResponse) : null,
    createdAt: sequence.createdAt.toISOString(),
    updatedAt: sequence.updatedAt.toISOString(),
    deletedAt: iso(sequence.deletedAt),
  };
}

export function enrollmentResponse(enrollment: Enrollment) {
  return {
    id: enrollment.id,
    sequenceId: enrollment.sequence,
    contactId: enrollment.contact,
    generation: enrollment.generation,
    status: enrollment.status,
    workflowId: enrollment.workflowId,
    currentStepId: enrollment.currentStepId ?? null,
    currentStepIndex: enrollment.currentStepIndex ?? null,
    dueAt: iso(enrollment.dueAt),
    pausedAt: iso(enrollment.pausedAt),
    endedAt: iso(enrollment.endedAt),
    endReason: enrollment.endReason ?? null,
    createdAt: enrollment.createdAt.toISOString(),
    updatedAt: enrollment.updatedAt.toISOString(),
  };
}

export function deliveryResponse(delivery: Delivery) {
  return {
    id: delivery.id,
    enrollmentId: delivery.enrollment,
    sequenceId: delivery.sequence,
    contactId: delivery.contact,
    stepId: delivery.stepId,
    generation: delivery.generation,
    kind: delivery.kind,
    status: delivery.status,
    provider: delivery.provider,
    providerMessageId: delivery.providerMessageId ?? null,
    to: delivery.toEmail,
    subject: delivery.subject ?? null,
    error: delivery.error ?? null,
    failureKind: delivery.failureKind ?? null,
    createdAt: delivery.createdAt.toISOString(),
    scheduledAt: iso(delivery.scheduledAt),
    sentAt: iso(delivery.sentAt),
    deliveredAt: iso(delivery.deliveredAt),
    openedAt: iso(delivery.openedAt),
    clickedAt: iso(delivery.clickedAt),
    bouncedAt: iso(delivery.bouncedAt),
    complainedAt: iso(delivery.complainedAt),
    unsubscribedAt: iso(delivery.unsubscribedAt),
  };
}

export function apiKeyResponse(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
  };
}
