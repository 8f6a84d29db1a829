import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CrmSource } from '../../crm/types.js';
import { recordCalls } from '../platform/call-log.js';
import { knobRouter, parseKnobBody } from '../platform/knobs.js';
import { type GoHighLevelSimulatorOptions, createGoHighLevelSimulator } from './gohighlevel.js';
import { type HubSpotSimulatorOptions, createHubSpotSimulator } from './hubspot.js';
import { type PipedriveSimulatorOptions, createPipedriveSimulator } from './pipedrive.js';
import { crmStateFileOf } from './state.js';
import { CrmWebhookSender, type SimulatedDelivery } from './webhooks.js';

/** Where each CRM's API is mounted on the simulator, standing for its real base URL. */
export const CRM_BASE_PATHS: Record<CrmSource, string> = {
  hubspot: '/hubspot',
  pipedrive: '/pipedrive',
  gohighlevel: '/gohighlevel',
};

export interface CrmSimulatorOptions {
  /** Where the CRMs' webhooks go: `<webhookUrl>/hubspot`, `/pipedrive`, `/gohighlevel`; unset: none are sent. */
  webhookUrl?: string;
  /** The waits before each webhook retry (as many retries as entries); default 1 s, 5 s, 30 s. */
  webhookRetryDelaysMs?: number[];
  hubspot?: HubSpotSimulatorOptions;
  pipedrive?: PipedriveSimulatorOptions;
  gohighlevel?: GoHighLevelSimulatorOptions;
}

const WebhookConfigBody = z.object({ webhookUrl: z.url().nullable() }).strict();

/** The three CRMs of the simulator: mounted on its app, with their knobs under /_simulator/<crm> and /_simulator/crm. */
export function createCrmSimulators(deps: { options: CrmSimulatorOptions; stateFile: string | undefined; now: () => number; shutdownSignal: AbortSignal; logger?: Logger }) {
  const { options, now, shutdownSignal } = deps;
  const webhooks = new CrmWebhookSender({ url: options.webhookUrl, retryDelaysMs: options.webhookRetryDelaysMs, now, logger: deps.logger });
  const stateFileOf = (source: CrmSource) => (deps.stateFile === undefined ? undefined : crmStateFileOf(deps.stateFile, source));
  const common = { webhooks, now, shutdownSignal };
  const hubspot = createHubSpotSimulator({ ...common, options: options.hubspot ?? {}, stateFile: stateFileOf('hubspot') });
  const pipedrive = createPipedriveSimulator({ ...common, options: options.pipedrive ?? {}, stateFile: stateFileOf('pipedrive') });
  const gohighlevel = createGoHighLevelSimulator({ ...common, options: options.gohighlevel ?? {}, stateFile: stateFileOf('gohighlevel') });
  const simulators = { hubspot, pipedrive, gohighlevel };

  const knobs = {
    hubspot: hubspot.knobs,
    pipedrive: pipedrive.knobs,
    gohighlevel: gohighlevel.knobs,
    /** Every webhook sent (or being sent), oldest first. */
    deliveries: (): SimulatedDelivery[] => webhooks.all(),
    /** Resolves once no webhook is waiting to be (re)sent. */
    deliveriesSettled: (): Promise<void> => webhooks.settled(),
    webhookUrl: (): string | null => webhooks.url ?? null,
    setWebhookUrl(url: string | null): void {
      webhooks.url = parseKnobBody('webhook config', WebhookConfigBody, { webhookUrl: url }).webhookUrl?.replace(/\/+$/, '') ?? undefined;
    },
    reset(): void {
      hubspot.knobs.reset();
      pipedrive.knobs.reset();
      gohighlevel.knobs.reset();
      webhooks.clear();
    },
  };

  /** Mounts each CRM's API (every request in its call log) on the simulator's app. */
  const mount = (app: express.Express): void => {
    for (const source of Object.keys(simulators) as CrmSource[]) {
      app.use(CRM_BASE_PATHS[source], recordCalls<string>(simulators[source].callLog));
      app.use(CRM_BASE_PATHS[source], simulators[source].router);
    }
  };

  /** `/_simulator/hubspot/...`, `/_simulator/pipedrive/...`, `/_simulator/gohighlevel/...` and `/_simulator/crm/...`. */
  const mountKnobs = (router: express.Router): void => {
    for (const source of Object.keys(simulators) as CrmSource[]) router.use(`/${source}`, simulators[source].knobRoutes);
    const crm = knobRouter();
    crm.get('/deliveries', (_req: Request, res: Response) => {
      res.json(knobs.deliveries());
    });
    crm.get('/webhooks', (_req: Request, res: Response) => {
      res.json({ webhookUrl: knobs.webhookUrl() });
    });
    crm.post('/webhooks', (req: Request, res: Response) => {
      knobs.setWebhookUrl(parseKnobBody('webhook config', WebhookConfigBody, req.body).webhookUrl);
      res.json({ webhookUrl: knobs.webhookUrl() });
    });
    router.use('/crm', crm);
  };

  return { knobs, mount, mountKnobs, stop: () => webhooks.stop() };
}

export type CrmSimulators = ReturnType<typeof createCrmSimulators>;
export type CrmKnobs = CrmSimulators['knobs'];
