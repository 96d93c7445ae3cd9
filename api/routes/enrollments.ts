import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { deliveryResponse, enrollmentResponse } from '../serialize.js';
import { Problem, problemResponses } from '../schemas/common.js';
import {
  CancelInput,
  DeliveryListQuery,
  DeliverySchema,
  EnrollInput,
  EnrollmentListQuery,
  EnrollmentParams,
  EnrollmentSchema,
  EnrollmentWithDeliveriesSchema,
  StepParams,
  StepRequestResult,
} from '../schemas/enrollments.js';
import { resendStep, skipStep } from '../services/enrollment-steps.js';
import { restartEnrollment } from '../services/re-enrollment.js';
import { pageOf } from '../pagination.js';
import { listDeliveries, listEnrollments } from '../services/lists.js';
import { SequenceParams } from '../schemas/sequences.js';
import { ProblemError } from '../errors.js';
import {
  cancelEnrollment,
  deliveriesOf,
  enrollContact,
  type EnrollResult,
  getEnrollment,
  pauseEnrollment,
  resumeEnrollment,
} from '../services/enrollments.js';

/** What starting a contact answers: 201 new, 200 already active (E2), 409, 422 suppressed (E12). */
const enrollmentAnswers = {
  201: EnrollmentSchema,
  200: EnrollmentSchema,
  ...problemResponses,
  409: Problem,
  422: Problem,
};

export const enrollmentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sequences/:sequenceId/enrollments',
    {
      schema: {
        tags: ['enrollments'],
        summary: 'Enroll a contact (E1); an already active contact returns its enrollment (E2)',
        params: SequenceParams,
        body: EnrollInput,
        response: enrollmentAnswers,
      },
    },
    async (request, reply) => {
      const result = await enrollContact(request.services, request.params.sequenceId, request.body.contactId);
      return answerEnrollment(reply, result, '/body/contactId');
    },
  );

  app.post(
    '/enrollments/:enrollmentId/restart',
    {
      schema: {
        tags: ['enrollments'],
        summary:
          'Restart: stop the contact in this sequence, then start it again from step 1 as a new generation (E3)',
        params: EnrollmentParams,
        response: enrollmentAnswers,
      },
    },
    async (request, reply) =>
      answerEnrollment(
        reply,
        await restartEnrollment(request.services, request.params.enrollmentId),
        '/params/enrollmentId',
      ),
  );

  const stepAction = (path: 'skip' | 'resend', summary: string, run: typeof skipStep) =>
    app.post(
      `/enrollments/:enrollmentId/steps/:stepId/${path}`,
      {
        schema: {
          tags: ['enrollments'],
          summary,
          params: StepParams,
          response: { 200: StepRequestResult, ...problemResponses, 409: Problem },
        },
      },
      async (request) => run(request.services, request.params.enrollmentId, request.params.stepId),
    );
  stepAction(
    'skip',
    'Skip the pending step (recorded as skipped) and continue with the next, its delay counted from now (E9)',
    skipStep,
  );
  stepAction(
    'resend',
    'Send an already-sent step again: an explicit, recorded second delivery, at most one per step (E9)',
    resendStep,
  );

  app.get(
    '/enrollments',
    {
      schema: {
        tags: ['enrollments'],
        summary: 'List enrollments, newest first: by sequence, contact and status',
        querystring: EnrollmentListQuery,
        response: { 200: pageOf(EnrollmentSchema) },
      },
    },
    async (request) => {
      const page = await listEnrollments(request.services, request.query);
      return { data: page.items.map(enrollmentResponse), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/deliveries',
    {
      schema: {
        tags: ['deliveries'],
        summary:
          'List deliveries (the send ledger), newest first: by enrollment, sequence, contact and status',
        querystring: DeliveryListQuery,
        response: { 200: pageOf(DeliverySchema) },
      },
    },
    async (request) => {
      const page = await listDeliveries(request.services, request.query);
      return { data: page.items.map(deliveryResponse), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/enrollments/:enrollmentId',
    {
      schema: {
        tags: ['enrollments'],
        summary: 'Read an enrollment with its deliveries',
        params: EnrollmentParams,
        response: { 200: EnrollmentWithDeliveriesSchema, ...problemResponses },
      },
    },
    async (request) => {
      const enrollment = await getEnrollment(request.services, request.params.enrollmentId);
      const deliveries = await deliveriesOf(request.services, enrollment.id);
      return { ...enrollmentResponse(enrollment), deliveries: deliveries.map(deliveryResponse) };
    },
  );

  const action = (path: string, summary: string, run: typeof pauseEnrollment) =>
    app.post(
      `/enrollments/:enrollmentId/${path}`,
      {
        schema: {
          tags: ['enrollments'],
          summary,
          params: EnrollmentParams,
          response: { 200: EnrollmentSchema, ...problemResponses, 409: Problem },
        },
      },
      async (request) => enrollmentResponse(await run(request.services, request.params.enrollmentId)),
    );
  action('pause', 'Pause one enrollment: its pending step is held (E8)', pauseEnrollment);
  action(
    'resume',
    'Resume one enrollment: the held step goes at the next valid send time (E8)',
    resumeEnrollment,
  );

  app.post(
    '/enrollments/:enrollmentId/cancel',
    {
      schema: {
        tags: ['enrollments'],
        summary: 'Stop one enrollment: no more sends from this sequence (E4)',
        params: EnrollmentParams,
        body: CancelInput,
        response: { 200: EnrollmentSchema, ...problemResponses, 409: Problem },
      },
    },
    async (request) =>
      enrollmentResponse(
        await cancelEnrollment(
          request.services,
          request.params.enrollmentId,
          request.body?.reason ?? 'stopped',
        ),
      ),
  );
};

/** 201 for a new enrollment, 200 for the live one (E2), 422 for a suppressed contact (E12). */
function answerEnrollment(reply: FastifyReply, result: EnrollResult, field: string) {
  if (result.kind === 'ineligible') {
    // E12: refused, and recorded as an `ineligible` enrollment for the audit trail.
    throw new ProblemError(
      422,
      'contact-ineligible',
      'Contact is ineligible',
      `The contact is suppressed (${result.reason}).`,
      { field, reason: result.reason, enrollmentId: result.enrollment.id },
    );
  }
  return reply
    .code(result.kind === 'enrolled' ? 201 : 200)
    .header('location', `/enrollments/${result.enrollment.id}`)
    .send(enrollmentResponse(result.enrollment));
}
