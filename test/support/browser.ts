/**
 * Headless Chromium for browser tests: Debian's `chromium` (scripts/chromium.sh installs it),
 * driven by playwright-core. Screenshots are kept under test-results/browser/ as artifacts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from './processes.js';

export const screenshotsDir = join(repoRoot, 'test-results', 'browser');

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(
  options: { httpCredentials?: { username: string; password: string } } = {},
): Promise<Browser> {
  // A fresh profile per run: nothing cached or remembered between tests.
  const profile = mkdtempSync(join(tmpdir(), 'nudge-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // Without the background-networking flags Chromium keeps calling home on a closed network.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
    timezoneId: 'UTC',
    ...(options.httpCredentials ? { httpCredentials: options.httpCredentials } : {}),
  });
  context.setDefaultTimeout(30_000);
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as a test artifact and returns its path. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotsDir, { recursive: true });
  const path = join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
