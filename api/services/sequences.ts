import { randomUUID } from 'node:crypto';
import { Sequence, SequenceVersion } from '../../db/entities/index.js';
import { durationToMs, type StepDefinition } from '../../workflows/plan.js';
import { isValidTimeZone, validateSendWindow, type SendWindow } from '../../workflows/send-window.js';
import type { ServiceContext } from '../context.js';
import { invalidField, notFound, ProblemError } from '../errors.js';
import type { SequenceInput, StepInput } from '../schemas/sequences.js';
import { appendEvent } from '../../activities/event-log.js';
import { changeSequence } from './sequence-fanout.js';
import { assertStepsRender } from './templates.js';

export function toStepDefinitions(steps: StepInput[]): StepDefinition[] {
  const seen = new Set<string>();
  return steps.map((step, index) => {
    const id = step.id ?? randomUUID().slice(0, 8);
    if (seen.has(id)) throw invalidField(`/body/steps/${index}/id`, `duplicate step id ${id}`);
    seen.add(id);
    if (durationToMs(step.delay) === null) {
      throw invalidField(`/body/steps/${index}/delay`, `${step.delay} is not an ISO-8601 duration`);
    }
    if (step.expiresAfter && durationToMs(step.expiresAfter) === null) {
      throw invalidField(
        `/body/steps/${index}/expiresAfter`,
        `${step.expiresAfter} is not an ISO-8601 duration`,
      );
    }
    return {
      id,
      name: step.name,
      delay: step.delay,
      expiresAfter: step.expiresAfter ?? null,
      subject: step.subject,
      html: step.html,
      text: step.text ?? null,
    };
  });
}

/** `overlapField` names the tag list to blame for an overlap: the one the request changed. */
export function checkSettings(input: Partial<SequenceInput>, overlapField = '/body/exitTags'): void {
  if (input.timeZone !== undefined && !isValidTimeZone(input.timeZone)) {
    throw invalidField('/body/timeZone', `${input.timeZone} is not an IANA time zone`);
  }
  if (input.sendWindow) {
    const problems = validateSendWindow(input.sendWindow);
    if (problems.length > 0) throw invalidField('/body/sendWindow', problems.join('; '));
  }
  // A tag both starting and ending the sequence would make E6 and E11 fight over one event.
  const both = (input.exitTags ?? []).filter((tag) => input.triggerTags?.includes(tag));
  if (both.length > 0) {
    throw invalidField(overlapField, `${both.join(', ')} cannot be both a trigger tag and an exit tag`);
  }
}

/** S1: a new sequence is a draft; it accepts no enrollments until published. */
export async function createSequence(ctx: ServiceContext, input: SequenceInput): Promise<Sequence> {
  checkSettings(input);
  const sequence = ctx.em.create(Sequence, {
    workspace: ctx.workspaceId,
    name: input.name,
    status: 'draft',
    draftSteps: toStepDefinitions(input.steps),
    triggerTags: input.triggerTags ?? [],
    exitTags: input.exitTags ?? [],
    activeTag: input.activeTag ?? null,
    sendWindow: (input.sendWindow as SendWindow | null | undefined) ?? null,
    timeZone: input.timeZone ?? 'UTC',
  });
  await ctx.em.flush();
  return sequence;
}

export async function getSequence(ctx: ServiceContext, sequenceId: string): Promise<Sequence> {
  const sequence = await ctx.em.findOne(Sequence, { id: sequenceId, workspace: ctx.workspaceId });
  if (!sequence || sequence.status === 'deleted') throw notFound('Sequence', sequenceId);
  return sequence;
}

export async function liveVersion(ctx: ServiceContext, sequence: Sequence): Promise<SequenceVersion | null> {
  if (!sequence.liveVersion) return null;
  return ctx.em.findOne(SequenceVersion, { sequence: sequence.id, version: sequence.liveVersion });
}

/** The live versions of several sequences, by sequence id, in one query. */
export async function liveVersions(
  ctx: ServiceContext,
  sequences: Sequence[],
): Promise<Map<string, SequenceVersion>> {
  const published = sequences.filter((s) => s.liveVersion !== null && s.liveVersion !== undefined);
  if (published.length === 0) return new Map();
  const versions = await ctx.em.find(SequenceVersion, {
    $or: published.map((s) => ({ sequence: s.id, version: s.liveVersion! })),
  });
  return new Map(versions.map((v) => [v.sequence, v]));
}

/**
 * S2: validates (at least one step, every template renders against a sample contact) and
 * makes the draft a new live version. A paused sequence stays paused. Publishing again (S5)
 * re-plans every enrollment in the sequence from the new version.
 */
export async function publishSequence(
  ctx: ServiceContext,
  sequenceId: string,
): Promise<{ sequence: Sequence; version: SequenceVersion }> {
  let version: SequenceVersion | undefined;
  const sequence = await changeSequence(ctx, sequenceId, async (locked, tx) => {
    const steps = locked.draftSteps;
    if (steps.length === 0) {
      throw new ProblemError(
        422,
        'unpublishable',
        'Sequence cannot be published',
        'A sequence needs at least one step.',
        { field: '/draftSteps' },
      );
    }
    await assertStepsRender(steps, locked.name);
    const republished = locked.liveVersion !== null && locked.liveVersion !== undefined;
    version = tx.create(SequenceVersion, {
      sequence: locked.id,
      version: (locked.liveVersion ?? 0) + 1,
      steps,
    });
    locked.liveVersion = version.version;
    if (locked.status === 'draft') locked.status = 'active';
    appendEvent(tx, {
      workspace: locked.workspace,
      sequence: locked.id,
      type: 'sequence.published',
      data: { version: version.version },
    });
    return republished ? 'changed' : null;
  });
  return { sequence, version: version! };
}
