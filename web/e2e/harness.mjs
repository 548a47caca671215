// Shared pieces of the end-to-end tests: a real shoeboxd on a fresh data
// folder, and headless Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = join(repo, 'target/web-e2e');
export const photos = join(repo, 'target/fixtures/photos');

// Everything on a slow 2-core machine under load: waits are on conditions,
// these only bound how long a broken build takes to fail.
export const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 60_000);

mkdirSync(artifacts, { recursive: true });

/**
 * Starts shoeboxd on a free port and resolves once its JSON log names the
 * address it listens on: on a fresh data folder unless `dataDir` is given,
 * with any extra `args`. The log goes to target/web-e2e/<name>.log.
 */
export async function startServer(name, { dataDir: existing, args = [] } = {}) {
  const bin = process.env.SHOEBOX_BIN ?? join(repo, 'target/debug/shoeboxd');
  const dataDir = existing ?? (await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-')));
  const child = spawn(bin, ['--data-dir', dataDir, '--port', '0', '--listen', '127.0.0.1', '--log-format', 'json', ...args], {
    env: { ...process.env, RUST_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(artifacts, `${name}.log`), { flags: 'a' });
  child.stderr.pipe(log);
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));

  const address = await new Promise((resolveAddress, reject) => {
    const lines = createInterface({ input: child.stdout });
    let found = false;
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      if (found) return;
      try {
        const entry = JSON.parse(line);
        if (entry?.fields?.address) {
          found = true;
          resolveAddress(entry.fields.address);
        }
      } catch {
        // Not every line has to be JSON (a panic message is not).
      }
    });
    child.once('error', reject);
    exited.then(({ code, signal }) => {
      if (!found) reject(new Error(`shoeboxd (${bin}) exited before listening: code ${code}, signal ${signal}; see ${log.path}`));
    });
  });

  return {
    url: `http://${address}`,
    dataDir,
    /** Stops the server; the data folder goes too unless it is kept for a restart. */
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const pageErrors = [];

/** A fresh browser profile (no cookies) on the server, desktop size unless told. */
export async function newPage(browser, server, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ baseURL: server.url, viewport, colorScheme: 'light' });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  // An uncaught error in the page is a bug even when the test's own checks pass.
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.stack ?? e.message}`));
  return page;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), animations: 'disabled' });
}

/** GET/POST with the page's session cookie, failing on any non-2xx. */
export async function call(page, method, path, data) {
  const response = await page.request.fetch(path, { method, data, timeout: TIMEOUT * 3 });
  if (!response.ok()) throw new Error(`${method} ${path}: ${response.status()} ${await response.text()}`);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}
