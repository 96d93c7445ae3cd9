// The workflows the worker registers. Only workflow-safe code may be reachable from here.
export { enrollmentWorkflow } from './enrollment.js';
export { sequenceFanOutWorkflow } from './sequence-fanout.js';
