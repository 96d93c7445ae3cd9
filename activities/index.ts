/**
 * The activity factory (CONVENTIONS §3): the worker builds it once with real dependencies,
 * tests build it with fakes. Workflows see only its type.
 */
import { createBookkeeping } from './bookkeeping.js';
import type { ActivityDeps, FanOutDeps } from './deps.js';
import { createFanOut } from './fanout.js';
import { createLoadPlan } from './plan.js';
import { createSendStep } from './send.js';

export type { ActivityDeps, FanOutDeps } from './deps.js';

export function createActivities(deps: ActivityDeps & FanOutDeps) {
  return {
    loadPlan: createLoadPlan(deps),
    sendStep: createSendStep(deps),
    fanOutToEnrollments: createFanOut(deps),
    ...createBookkeeping(deps),
  };
}
