import { chromium, type Browser } from 'playwright-core';
import { findChromium } from '../scripts/setup.mjs';

/** Debian's Chromium (installed by `node scripts/setup.mjs --with-browser`, which npm test runs), headless, for the browser tests. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('No Chromium found: run `node scripts/setup.mjs --with-browser` (npm test does) or set CHROMIUM_PATH');
  // playwright-core starts Chromium with a fresh temporary profile of its own and deletes it on close.
  return chromium.launch({
    executablePath,
    headless: true,
    // Without the networking flags Chromium keeps calling Google's services, which a closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
