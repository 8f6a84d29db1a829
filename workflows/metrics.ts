import { metricMeter } from '@temporalio/workflow';

/** Business metrics of onboardings, served with the worker's Temporal metrics (see worker/index.ts). */
export const completedCounter = metricMeter.createCounter('onboardings_completed', 'onboardings', 'Onboardings that sent the signup email');
export const failedCounter = metricMeter.createCounter('onboardings_failed', 'onboardings', 'Onboardings that ended failed');
export const webhookToCompletion = metricMeter.createHistogram('onboarding_webhook_to_completion', 'float', 'seconds', 'Time from the CRM webhook to the signup email');
export const dnsWait = metricMeter.createHistogram('onboarding_dns_wait', 'float', 'seconds', 'Time spent waiting for DNS verification');
