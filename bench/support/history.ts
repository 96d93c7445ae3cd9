/**
 * Reads real workflow histories and prices them: events by type, and Temporal Cloud billable
 * actions as https://docs.temporal.io/cloud/actions defines them.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const { EventType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

export interface HistoryCost {
  events: number;
  actions: number;
  eventsByType: Record<string, number>;
  actionsByType: Record<string, number>;
}

const shortName = (type: number) =>
  (EventType[type] ?? String(type))
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_/g, ' ');

/** Billable actions an event represents (retried activity attempts count each). */
function actionsOf(event: HistoryEvent): [string, number] | null {
  switch (event.eventType) {
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
      return ['workflow started', 1];
    case EventType.EVENT_TYPE_TIMER_STARTED:
      return ['timer started', 1];
    case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
      const fields = Object.keys(
        event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      );
      return fields.every((name) => name === 'TemporalChangeVersion')
        ? null
        : ['search attributes upserted', 1];
    }
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      return ['signal', 1];
    case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
      return ['activity started or retried', event.activityTaskStartedEventAttributes?.attempt ?? 1];

    case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      return ['child workflow', 2];
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      return ['update', 1];
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
      return ['options updated', 1];
    default:
      return null;
  }
}

/** The SDK's marker names: a local activity's result, and a patch (`patched()`). */
const MARKER_KINDS: Record<string, string> = { core_local_activity: 'local activity', core_patch: 'patch' };

/** What a marker event records (undefined for any other event). */
function markerKind(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes?.markerName;
  return marker ? (MARKER_KINDS[marker] ?? marker) : undefined;
}

export function priceHistory(events: HistoryEvent[]): HistoryCost {
  const cost: HistoryCost = { events: events.length, actions: 0, eventsByType: {}, actionsByType: {} };
  let markerInTask = false;
  for (const event of events) {
    const marker = markerKind(event);
    const detail = event.activityTaskScheduledEventAttributes?.activityType?.name ?? marker;
    const name = shortName(event.eventType ?? 0) + (detail ? ` (${detail})` : '');
    cost.eventsByType[name] = (cost.eventsByType[name] ?? 0) + 1;
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) markerInTask = false;
    // Local activities: all of one workflow task count as one action. (A patch's marker is free.)
    if (marker === 'local activity' && !markerInTask) {
      markerInTask = true;
      cost.actions += 1;
      cost.actionsByType['local activities'] = (cost.actionsByType['local activities'] ?? 0) + 1;
    }
    const action = actionsOf(event);
    if (action) {
      cost.actions += action[1];
      cost.actionsByType[action[0]] = (cost.actionsByType[action[0]] ?? 0) + action[1];
    }
  }
  return cost;
}

/** The summed cost of every run of a workflow id's chain (continue-as-new included). */
export async function historyCost(client: Client, workflowId: string): Promise<HistoryCost> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return priceHistory(history.events ?? []);
}

export function averageCost(costs: HistoryCost[]): HistoryCost {
  const sum = (pick: (c: HistoryCost) => Record<string, number>) => {
    const total: Record<string, number> = {};
    for (const cost of costs)
      for (const [k, v] of Object.entries(pick(cost))) total[k] = (total[k] ?? 0) + v / costs.length;
    return total;
  };
  return {
    events: costs.reduce((a, c) => a + c.events, 0) / costs.length,
    actions: costs.reduce((a, c) => a + c.actions, 0) / costs.length,
    eventsByType: sum((c) => c.eventsByType),
    actionsByType: sum((c) => c.actionsByType),
  };
}

/** (long − short) / extra steps, per key: what one more step costs. */
export function marginalCost(short: HistoryCost, long: HistoryCost, extraSteps: number): HistoryCost {
  const diff = (a: Record<string, number>, b: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const value = ((b[key] ?? 0) - (a[key] ?? 0)) / extraSteps;
      if (Math.abs(value) > 1e-9) out[key] = value;
    }
    return out;
  };
  return {
    events: (long.events - short.events) / extraSteps,
    actions: (long.actions - short.actions) / extraSteps,
    eventsByType: diff(short.eventsByType, long.eventsByType),
    actionsByType: diff(short.actionsByType, long.actionsByType),
  };
}
