import { afterEach } from 'vitest';
import { type RunningSimulator, type StartSimulatorOptions, startSimulator } from '../simulator/app.js';

/** What the simulator answered. */
export interface Answer {
  status: number;
  headers: Headers;
  // Whatever the simulator sent; each test asserts the shape it relies on.
  body: any;
  /** The raw body; `body` is it parsed as JSON (undefined when empty). */
  text: string;
}

/** Sends `body` (when given) as JSON with `headers`, and reads the answer. */
export async function sendJson(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
}

/** Calls one of the simulator's own control endpoints, under `/_simulator`. */
export function callKnob(on: RunningSimulator, method: string, path: string, body?: unknown): Promise<Answer> {
  return sendJson(method, `${on.url}/_simulator${path}`, body);
}

/** Returns a `startSimulator` whose simulators are all closed after each test (it registers that `afterEach`). */
export function simulatorsClosedAfterEach(): (options: StartSimulatorOptions) => Promise<RunningSimulator> {
  const running: RunningSimulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((simulator) => simulator.close()));
  });
  return async (options) => {
    const simulator = await startSimulator(options);
    running.push(simulator);
    return simulator;
  };
}
