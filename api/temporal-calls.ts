import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers.js';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../config/index.js';
import { HttpError } from './errors.js';
import { translateTemporalError } from './temporal-errors.js';

const TEMPORAL_CALL_TIMEOUT_MS = 5_000;

/** One page of Temporal's visibility, decoded (search attributes, memo), with the token of the next page. */
export interface VisibilityPage {
  executions: WorkflowExecutionInfo[];
  /** Temporal's own token for the next page (opaque bytes); null on the last page. */
  nextPageToken: Uint8Array | null;
}

/**
 * Every call the API makes to Temporal, bounded so a stuck Temporal answers 503 quickly instead of holding the
 * caller's request open, and translated into HTTP answers (404 for an unknown workflow, 503 when unreachable).
 */
export class TemporalCalls {
  constructor(
    readonly client: Client,
    private readonly config: Pick<Config['temporal'], 'namespace' | 'taskQueue'>,
  ) {}

  get taskQueue(): string {
    return this.config.taskQueue;
  }

  call<T>(fn: () => Promise<T>, workflowId?: string): Promise<T> {
    return this.client.connection.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, fn).catch((err: unknown) => {
      throw translateTemporalError(err, { onboardingId: workflowId });
    });
  }

  /**
   * Queries a workflow whose existence was just confirmed: Temporal answers queries through a worker, so a query
   * that times out here means no worker is running, which is what the caller needs to hear.
   */
  async query<T>(workflowId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await this.call(run, workflowId);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'temporal_unavailable') {
        throw new HttpError(
          503,
          'no_worker',
          `Temporal is reachable but no worker answered for ${workflowId}; is a worker polling task queue "${this.config.taskQueue}"? (npm start, or npm run worker)`,
          undefined,
          { 'Retry-After': '5' },
        );
      }
      throw err;
    }
  }

  /** The latest run of a workflow; 404 when there is none. */
  describe(workflowId: string): Promise<WorkflowExecutionDescription> {
    return this.call(() => this.client.workflow.getHandle(workflowId).describe(), workflowId);
  }

  /** The latest run of a workflow, or undefined when there is none. */
  async describeIfAny(workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.describe(workflowId);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** One page of a visibility query, as Temporal pages it. */
  async listPage(query: string, pageSize: number, pageToken: Uint8Array | null): Promise<VisibilityPage> {
    const { namespace } = this.config;
    const response = await this.call(() =>
      this.client.workflowService.listWorkflowExecutions({ namespace, query, pageSize, nextPageToken: pageToken ?? undefined }),
    );
    const converter = this.client.options.loadedDataConverter;
    const executions = await Promise.all(
      (response.executions ?? []).map((raw: temporal.api.workflow.v1.IWorkflowExecutionInfo) =>
        // A memo this process cannot decode (encrypted under a key it does not hold) costs that row its reason,
        // not the whole page.
        executionInfoFromRaw(raw, converter, raw, namespace).catch(() => executionInfoFromRaw({ ...raw, memo: null }, converter, raw, namespace)),
      ),
    );
    return { executions, nextPageToken: response.nextPageToken?.length ? response.nextPageToken : null };
  }
}

/** A value in a visibility query: single-quoted, with quotes and backslashes escaped. */
export function quoteVisibility(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
