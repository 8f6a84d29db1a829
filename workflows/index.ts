// The worker's workflow bundle: every workflow type the task queue serves.
export { onboardClient } from './onboarding.js';
export { offboardClient } from './offboarding.js';
export { resolveCrmDeal } from './crm-deal.js';
