import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileVault } from '../vault/index.js';
import { launchChromium } from './chromium.js';
import { capturedLogger, serveApi, TEST_DATA_CONVERTER, TEST_OPS_TOKEN } from './support.js';

const FAILURE_SCREENSHOT = path.join(os.tmpdir(), 'api-docs-failure.png');

let connection: Connection;
let api: Awaited<ReturnType<typeof serveApi>>;
let browser: Browser | undefined;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  api = await serveApi({
    temporal: new Client({ connection, dataConverter: TEST_DATA_CONVERTER }),
    vault: new FileVault('/tmp/api-docs-ui-vault-unused', Buffer.alloc(32, 3), capturedLogger().logger),
    taskQueue: 'api-docs-ui-unused',
  });
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await connection?.close();
});

describe('the API reference at /docs, in a browser', () => {
  it('lists the ops endpoints and tries one out with the ops token, loading nothing from another origin', async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const elsewhere: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(api.url) && !request.url().startsWith('data:')) elsewhere.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    try {
      await page.goto(`${api.url}/docs`);
      const list = page.locator('#operations-ops-listOnboardings');
      await list.waitFor();
      for (const id of ['getOnboarding', 'retryOnboarding', 'cancelOnboarding', 'revealSecret', 'listSecretAudit']) await page.locator(`#operations-ops-${id}`).waitFor();

      // Authorize once with the ops token: the bearer scheme every /v1 endpoint asks for.
      await page.locator('.auth-wrapper .authorize').click();
      const opsToken = page.locator('.auth-container').filter({ hasText: 'opsToken' });
      await opsToken.locator('input').fill(TEST_OPS_TOKEN);
      await opsToken.getByRole('button', { name: 'Apply credentials' }).click();
      await opsToken.getByRole('button', { name: 'Remove authorization' }).waitFor();
      await page.locator('.dialog-ux .close-modal').click();

      await list.locator('.opblock-summary-control').click();
      await list.getByRole('button', { name: 'Try it out' }).click();
      // A client no other test has: the answer does not depend on what else is in the shared dev server.
      const clientId = `docs-ui-${randomUUID()}`;
      await list.locator('tr[data-param-name="clientId"] input').fill(clientId);
      const sent = page.waitForRequest((request) => request.url().startsWith(`${api.url}/v1/onboardings?`));
      await list.getByRole('button', { name: 'Execute' }).click();
      const request = await sent;
      expect(request.headers().authorization).toBe(`Bearer ${TEST_OPS_TOKEN}`);
      expect(new URL(request.url()).searchParams.get('clientId')).toBe(clientId);
      await expect.poll(() => list.locator('.live-responses-table tbody .response-col_status').first().innerText()).toBe('200');
      expect(await list.locator('.live-responses-table tbody .response-col_description').first().innerText()).toMatch(/"items": \[\]/);

      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    } catch (error) {
      await page.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => {});
      console.error(`The page when the browser test failed: ${FAILURE_SCREENSHOT}`);
      throw error;
    }
  }, 60_000);
});
