import { isGrpcServiceError, WorkflowNotFoundError, ServiceError } from '@temporalio/client';
import { HttpError } from './errors.js';

// gRPC status codes (from the gRPC spec), spelled out to avoid a direct dependency on grpc-js.
const grpcStatus = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;
const UNREACHABLE = new Set<number>([grpcStatus.UNAVAILABLE, grpcStatus.DEADLINE_EXCEEDED, grpcStatus.CANCELLED]);

/** True when Temporal itself could not be reached (down, restarting, or too slow to answer). */
export function isTemporalUnreachable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && UNREACHABLE.has(e.code)) return true;
    if (e instanceof Error && /ECONNREFUSED|ECONNRESET|Deadline exceeded|failed to connect|No connection established/i.test(e.message)) return true;
  }
  return false;
}

export function isWorkflowNotFound(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && e.code === grpcStatus.NOT_FOUND) return true;
  }
  return err instanceof ServiceError && /not found/i.test(err.message);
}

export const RETRY_AFTER_SECONDS = 5;

export function temporalUnavailable(): HttpError {
  return new HttpError(503, 'temporal_unavailable', 'the workflow service is unreachable right now; retry shortly', undefined, {
    'Retry-After': String(RETRY_AFTER_SECONDS),
  });
}

/** Translates Temporal errors a request can meet into HTTP answers; anything else passes through. */
export function translateTemporalError(err: unknown, what: { onboardingId?: string } = {}): unknown {
  if (isWorkflowNotFound(err)) return new HttpError(404, 'onboarding_not_found', `no onboarding with id ${JSON.stringify(what.onboardingId ?? '')}`);
  if (isTemporalUnreachable(err)) return temporalUnavailable();
  return err;
}
