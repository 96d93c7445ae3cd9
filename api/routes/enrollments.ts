import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { deliveryResponse, enrollmentResponse } from '../serialize.js';
import { Problem, problemResponses } from '../schemas/common.js';
import {
  CancelInput,
  EnrollInput,
  EnrollmentParams,
  EnrollmentSchema,
  EnrollmentWithDeliveriesSchema,
} from '../schemas/enrollments.js';
import { SequenceParams } from '../schemas/sequences.js';
import { ProblemError } from '../errors.js';
import {
  cancelEnrollment,
  deliveriesOf,
  enrollContact,
  getEnrollment,
  pauseEnrollment,
  resumeEnrollment,
} from '../services/enrollments.js';

export const enrollmentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/sequences/:sequenceId/enrollments',
    {
      schema: {
        tags: ['enrollments'],
        summary: 'Enroll a contact (E1); an already active contact returns its enrollment (E2)',
        params: SequenceParams,
        body: EnrollInput,
        response: {
          201: EnrollmentSchema,
          200: EnrollmentSchema,
          ...problemResponses,
          409: Problem,
          422: Problem,
        },
      },
    },
    async (request, reply) => {
      const result = await enrollContact(request.services, request.params.sequenceId, request.body.contactId);
      if (result.kind === 'ineligible') {
        // E12: refused, and recorded as an `ineligible` enrollment for the audit trail.
        throw new ProblemError(
          422,
          'contact-ineligible',
          'Contact is ineligible',
          `The contact is suppressed (${result.reason}).`,
          {
            field: '/body/contactId',
            reason: result.reason,
            enrollmentId: result.enrollment.id,
          },
        );
      }
      return reply.code(result.kind === 'enrolled' ? 201 : 200).send(enrollmentResponse(result.enrollment));
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
