/**
 * Templates seen from the API: the publish check (S2) and previews. Both render exactly as a
 * send does (email/render.ts), so what passes here renders at send time unless a contact's
 * own data breaks it (then that delivery fails as rejected content, D4).
 */
import { Contact, type Sequence } from '../../db/entities/index.js';
import { renderStep, TemplateError, type ContactFields } from '../../email/render.js';
import { listUnsubscribeHeaders, unsubscribeUrl } from '../../email/unsubscribe.js';
import type { StepDefinition } from '../../workflows/plan.js';
import type { ServiceContext } from '../context.js';
import { notFound, ProblemError } from '../errors.js';
import { getSequence, liveVersion } from './sequences.js';

/** The contact templates are checked against at publish (S2) and previewed with by default. */
export const SAMPLE_CONTACT: ContactFields = {
  email: 'sample@example.com',
  name: 'Sample Contact',
  timeZone: 'UTC',
  attributes: {},
  tags: [],
};

function templateProblem(step: StepDefinition, index: number, error: TemplateError, field: string) {
  return new ProblemError(
    422,
    'template',
    'Template does not render',
    `Step ${index + 1} '${step.name}' (${step.id}) ${error.part}: ${error.message}`,
    { field: `${field}/${index}/${error.part}`, stepId: step.id, part: error.part },
  );
}

/** S2: every step's subject and bodies render against the sample contact, or a 422 names the first that does not. */
export async function assertStepsRender(steps: StepDefinition[], sequenceName: string): Promise<void> {
  for (const [index, step] of steps.entries()) {
    try {
      await renderStep(step, {
        contact: SAMPLE_CONTACT,
        sequence: { name: sequenceName },
        unsubscribeUrl: 'https://nudge.invalid/unsubscribe/sample',
      });
    } catch (error) {
      if (error instanceof TemplateError) throw templateProblem(step, index, error, '/draftSteps');
      throw error;
    }
  }
}

export interface PreviewSettings {
  from: string;
  publicUrl: string;
  unsubscribeSecret: string;
}

export interface PreviewRequest {
  contactId?: string | undefined;
  version: 'draft' | 'live';
}

/** Renders one step for one contact (or the sample contact) as its email would be sent. */
export async function previewStep(
  ctx: ServiceContext,
  settings: PreviewSettings,
  sequenceId: string,
  stepId: string,
  request: PreviewRequest,
) {
  const sequence = await getSequence(ctx, sequenceId);
  const steps = await stepsOf(ctx, sequence, request.version);
  const index = steps.findIndex((step) => step.id === stepId);
  if (index < 0) throw notFound('Step', stepId);
  const step = steps[index]!;

  let contact: ContactFields = SAMPLE_CONTACT;
  let url = `${settings.publicUrl}/unsubscribe/preview`;
  if (request.contactId) {
    const row = await ctx.em.findOne(Contact, { id: request.contactId, workspace: ctx.workspaceId });
    if (!row) {
      throw new ProblemError(
        404,
        'not-found',
        'Contact not found',
        `No contact with id ${request.contactId}.`,
        {
          id: request.contactId,
          field: '/query/contactId',
        },
      );
    }
    contact = {
      email: row.email,
      name: row.name ?? null,
      timeZone: row.timeZone ?? null,
      attributes: row.attributes,
      tags: row.tags,
    };
    url = unsubscribeUrl(settings.publicUrl, settings.unsubscribeSecret, {
      workspaceId: ctx.workspaceId,
      contactId: row.id,
      deliveryId: null,
    });
  }
  try {
    const rendered = await renderStep(step, {
      contact,
      sequence: { name: sequence.name },
      unsubscribeUrl: url,
    });
    return {
      sequenceId: sequence.id,
      stepId: step.id,
      version: request.version,
      contactId: request.contactId ?? null,
      from: settings.from,
      to: contact.email,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      headers: listUnsubscribeHeaders(url),
    };
  } catch (error) {
    if (error instanceof TemplateError) {
      throw templateProblem(step, index, error, request.version === 'live' ? '/liveSteps' : '/draftSteps');
    }
    throw error;
  }
}

async function stepsOf(ctx: ServiceContext, sequence: Sequence, version: 'draft' | 'live') {
  if (version === 'draft') return sequence.draftSteps;
  const live = await liveVersion(ctx, sequence);
  if (!live) {
    throw new ProblemError(
      409,
      'sequence-not-published',
      'Sequence is a draft',
      'The sequence has no live version yet.',
      {
        field: '/query/version',
      },
    );
  }
  return live.steps;
}
