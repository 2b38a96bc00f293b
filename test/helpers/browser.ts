import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { requireBinary } from './binaries.ts';

export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/console/', import.meta.url));

/**
 * Debian's Chromium, headless. The background-networking flags matter: without them Chromium keeps
 * trying to reach Google's hosts, which this machine's closed network refuses.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = requireBinary('/usr/bin/chromium', 'chromium');
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Saves a full-page screenshot under artifacts/console/ (kept by CI as the tests' evidence). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
