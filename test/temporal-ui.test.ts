import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { clientCreatedEvent, eventually, serveApi, signedDelivery, startTestStack, TEST_OPS_TOKEN, uniqueClient, type TestStack } from './support.js';

// Every page of the UI is a single-page app that loads its data after the page itself.
const UI_TIMEOUT_MS = 30_000;
const README_SCREENSHOT = fileURLToPath(new URL('../docs/temporal-ui.png', import.meta.url));
const DEBUG_SCREENSHOT = path.join(os.tmpdir(), 'temporal-ui.png');
const FAILURE_SCREENSHOT = path.join(os.tmpdir(), 'temporal-ui-failure.png');

let stack: TestStack;
let api: Awaited<ReturnType<typeof serveApi>>;
let browser: Browser | undefined;

beforeAll(async () => {
  stack = await startTestStack({ dnsVerifyAfterMs: 300 });
  // Both platforms, the development default: the README's picture shows a whole onboarding.
  api = await serveApi({ temporal: stack.client, vault: stack.vault, taskQueue: stack.taskQueue, defaultServices: ['netlify', 'nextnet'], temporalUiUrl: inject('temporalUiUrl') });
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await stack?.close();
});

async function onboardThroughWebhook() {
  const client = uniqueClient();
  const body = JSON.stringify(clientCreatedEvent(client));
  const delivery = await api.post('/webhooks/crm', body, signedDelivery(body));
  expect(delivery.status).toBe(202);
  const { workflowId } = (await delivery.json()) as { workflowId: string };
  expect((await stack.client.workflow.getHandle(workflowId).result()).status).toBe('completed');
  return { ...client, workflowId };
}

/**
 * Client data is encrypted in Temporal: what ops do once per browser (the README says so) before the UI can show it.
 * Log in to the API's codec server with the ops token, then point the UI's codec setting at it, with credentials.
 */
async function enableDecryption(page: Page) {
  await page.goto(`${api.url}/codec/login`);
  await page.getByLabel('Ops token').fill(TEST_OPS_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('This browser may decrypt until').waitFor();

  await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows`);
  // The codec button of the top bar: "Configure Codec Server", or "Codec Server is configured" once the server gives one.
  await page.getByRole('button', { name: /Codec Server/ }).click();
  await page.getByRole('button', { name: /^Use Cluster-level setting/ }).click();
  await page.getByLabel(/Use my browser setting/).check();
  // Folded again, so the rest of the panel is on the screen.
  await page.getByRole('button', { name: /^Use my browser setting/ }).click();
  await page.getByPlaceholder('Paste your endpoint here').fill(`${api.url}/codec`);
  await page.getByText('Include cross-origin credentials', { exact: true }).click();
  await page.getByRole('button', { name: 'Apply' }).click();
}

/** The rendered markdown of one User Metadata panel ("Summary", "Details", "Current Details"); the UI draws each in an iframe. */
function userMetadataPanel(page: Page, heading: string) {
  return page
    .locator('div')
    .filter({ has: page.getByRole('heading', { name: heading, exact: true }) })
    .filter({ has: page.locator('iframe') })
    .last()
    .locator('iframe')
    .contentFrame()
    .locator('body');
}

describe('the Temporal Web UI', () => {
  it('finds an onboarding by its domain and shows its business status', async () => {
    const onboarding = await onboardThroughWebhook();
    const otherOnboarding = await onboardThroughWebhook();
    const byDomain = `OnboardingDomain="${onboarding.domain}"`;
    // The UI lists from visibility, which catches up with the workflow a moment later.
    await eventually(async () => (await stack.client.workflow.count(`${byDomain} AND OnboardingStatus="completed"`)).count === 1, {
      what: 'the completed onboarding in visibility',
    });

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    try {
      await enableDecryption(page);
      await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows?query=${encodeURIComponent(byDomain)}`);
      const row = page.getByRole('link', { name: onboarding.workflowId, exact: true });
      await row.waitFor();
      // The filter is what finds it: the other onboarding, on another domain, is not listed.
      await expect.poll(() => page.getByRole('link', { name: /^onboarding-crm-/ }).count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
      expect(await page.getByRole('link', { name: otherOnboarding.workflowId, exact: true }).count()).toBe(0);

      await row.click();
      await page.waitForURL(new RegExp(`/workflows/${onboarding.workflowId}/[^/]+/history`));
      await page.getByRole('tab', { name: 'User Metadata' }).click();

      const summary = userMetadataPanel(page, 'Summary');
      await expect.poll(() => summary.innerText(), { timeout: UI_TIMEOUT_MS }).toBe(`Onboard ${onboarding.domain} for ${onboarding.clientId} (Netlify + NextNet)`);
      const currentDetails = userMetadataPanel(page, 'Current Details');
      // The next action leads the current details, in bold (rendered markdown); the business status follows.
      await currentDetails.locator('strong', { hasText: /^Completed: nothing to do\.$/ }).waitFor();
      expect(await currentDetails.innerText()).toContain(`completed — ${onboarding.domain} (CRM client ${onboarding.clientId}; Netlify + NextNet)`);
      expect(await currentDetails.innerText()).toContain(`Site: https://${onboarding.domain}`);
      expect(await currentDetails.innerText()).toContain('Signup email sent');
      const screenshot = await page.screenshot({ path: DEBUG_SCREENSHOT, fullPage: true });
      // The README's picture changes only when someone asks for it, not on every test run.
      if (process.env.UPDATE_SCREENSHOT === '1') await writeFile(README_SCREENSHOT, screenshot);

      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      const pageText = () => page.locator('body').innerText();
      await expect.poll(pageText, { timeout: UI_TIMEOUT_MS }).toContain('"OnboardingStatus": "completed"');
      expect(await pageText()).toContain(`"OnboardingDomain": "${onboarding.domain}"`);
      expect(await pageText()).toContain('"OnboardingPlatforms"');
    } catch (error) {
      await page.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => {});
      console.error(`The page when the browser test failed: ${FAILURE_SCREENSHOT}`);
      throw error;
    }
  }, 120_000);
});
