/**
 * What a workflow's history says about where its time went and what it costs to keep: workflow tasks (waiting in
 * the queue, running on the worker), activities (waiting, running), events and bytes.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto;
const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type History = proto.temporal.api.history.v1.IHistory;

export function eventTimeMs(event: HistoryEvent): number {
  const t = event.eventTime;
  if (!t) return Number.NaN;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export function eventBytes(event: HistoryEvent): number {
  return temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
}

export function historyBytes(history: History): number {
  return temporal.api.history.v1.History.encode(history).finish().length;
}

export interface Breakdown {
  wallMs: number;
  workflowTasks: number;
  workflowTaskQueueMs: number;
  workflowTaskRunMs: number;
  activities: number;
  activityQueueMs: number;
  activityRunMs: number;
  /** Wall time not spent in a workflow task nor an activity (timers, signals awaited, bookkeeping between them). */
  otherMs: number;
  events: number;
  bytes: number;
}

/** Where one closed workflow's time went, from its history. */
export function breakdownOf(history: History): Breakdown {
  const events = history.events ?? [];
  const at = new Map<number, number>();
  for (const e of events) at.set(Number(e.eventId), eventTimeMs(e));
  let workflowTasks = 0;
  let wftQueue = 0;
  let wftRun = 0;
  let activities = 0;
  let actQueue = 0;
  let actRun = 0;
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        wftQueue += eventTimeMs(e) - (at.get(Number(e.workflowTaskStartedEventAttributes?.scheduledEventId)) ?? eventTimeMs(e));
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: {
        const attrs = e.workflowTaskCompletedEventAttributes ?? e.workflowTaskFailedEventAttributes ?? e.workflowTaskTimedOutEventAttributes;
        workflowTasks += 1;
        wftRun += eventTimeMs(e) - (at.get(Number(attrs?.startedEventId)) ?? eventTimeMs(e));
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        actQueue += eventTimeMs(e) - (at.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? eventTimeMs(e));
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
        const attrs = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
        activities += 1;
        actRun += eventTimeMs(e) - (at.get(Number(attrs?.startedEventId)) ?? eventTimeMs(e));
        break;
      }
      default:
        break;
    }
  }
  const wall = eventTimeMs(events.at(-1)!) - eventTimeMs(events[0]!);
  return {
    wallMs: wall,
    workflowTasks,
    workflowTaskQueueMs: wftQueue,
    workflowTaskRunMs: wftRun,
    activities,
    activityQueueMs: actQueue,
    activityRunMs: actRun,
    otherMs: wall - wftQueue - wftRun - actQueue - actRun,
    events: events.length,
    bytes: historyBytes(history),
  };
}

export function meanBreakdown(all: Breakdown[]): Breakdown {
  const keys = Object.keys(all[0]!) as (keyof Breakdown)[];
  return Object.fromEntries(keys.map((key) => [key, Number((all.reduce((sum, b) => sum + b[key], 0) / all.length).toFixed(1))])) as unknown as Breakdown;
}

/** Histories of these workflows (their latest runs), a few at a time. */
export async function fetchHistories(client: Client, workflowIds: string[], concurrency = 8): Promise<History[]> {
  const out: History[] = new Array(workflowIds.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, workflowIds.length) }, async () => {
      for (let i = next++; i < workflowIds.length; i = next++) out[i] = await client.workflow.getHandle(workflowIds[i]!).fetchHistory();
    }),
  );
  return out;
}

export { EventType };
export type { History, HistoryEvent };
