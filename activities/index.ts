/**
 * The activity factory (CONVENTIONS §3): the worker builds it once with real dependencies,
 * tests build it with fakes. Workflows see only its type.
 */
import { createBookkeeping } from './bookkeeping.js';
import type { ActivityDeps } from './deps.js';
import { createLoadPlan } from './plan.js';
import { createSendStep } from './send.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  return {
    loadPlan: createLoadPlan(deps),
    sendStep: createSendStep(deps),
    ...createBookkeeping(deps),
  };
}
