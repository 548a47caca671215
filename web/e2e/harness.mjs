// Shared pieces of the end-to-end tests: a real shoeboxd on a fresh data
// folder, and headless Chromium driven by playwright-core.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = join(repo, 'target/web-e2e');
export const photos = join(repo, 'target/fixtures/photos');

// Everything on a slow 2-core machine under load: waits are on conditions,
// these only bound how long a broken build takes to fail.
export const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 60_000);

mkdirSync(artifacts, { recursive: true });

/**
 * The status shoeboxd exits with to be started again (after moving the
 * library onto a new pool); crates/server's RESTART_EXIT_CODE.
 */
export const RESTART_EXIT_CODE = 75;

/** How long a server has to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

/**
 * Starts shoeboxd on a free port and resolves once its JSON log names the
 * address it listens on: on a fresh data folder unless `dataDir` is given,
 * with any extra `args`. The log goes to target/web-e2e/<name>.log.
 *
 * With `restartOnRequest`, the harness is its service manager, as systemd
 * is on the appliance: whenever shoeboxd exits with RESTART_EXIT_CODE it is
 * started again on the same data folder and the same port, so a page
 * opened on it keeps its origin (and its cookie) across the restart.
 */
export async function startServer(name, { dataDir: existing, args = [], restartOnRequest = false } = {}) {
  const bin = process.env.SHOEBOX_BIN ?? join(repo, 'target/debug/shoeboxd');
  const dataDir = existing ?? (await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-')));
  const log = createWriteStream(join(artifacts, `${name}.log`), { flags: 'a' });
  const launch = (port) => launchServer(bin, ['--data-dir', dataDir, '--port', port, '--listen', '127.0.0.1', '--log-format', 'json', ...args], log);

  let running = launch('0');
  const address = await running.listening;
  let stopping = false;
  let restarts = 0;
  const restartWhenAsked = (instance) =>
    instance.exited.then(({ code }) => {
      if (stopping || code !== RESTART_EXIT_CODE) return;
      restarts++;
      log.write(`[harness] shoeboxd exited with ${code}: starting it again on ${address}\n`);
      running = launch(address.slice(address.lastIndexOf(':') + 1));
      // A failed start shows in the log and in the test, which waits for the server.
      running.listening.catch((e) => log.write(`[harness] ${e.message}\n`));
      restartWhenAsked(running);
    });
  if (restartOnRequest) restartWhenAsked(running);

  return {
    url: `http://${address}`,
    dataDir,
    /** How many times the server was started again after asking for it. */
    get restarts() {
      return restarts;
    },
    /** Stops the server (and any restart); the data folder goes too unless it is kept for a restart. */
    async stop({ keepData = false } = {}) {
      stopping = true;
      await running.stop();
      log.end();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Node >= 22.13, whose node:sqlite seed-catalog.mjs needs; ci/install-test-deps.sh puts one here. */
const seedNode = process.env.SEED_NODE ?? join(repo, 'target/tools/bin/node');

/**
 * A server whose admin (`{ name, email, password }`, setup complete) owns
 * `count` photos spread over `years`, written straight into its catalog by
 * seed-catalog.mjs: a large library without uploading one. The photos have
 * no files, so the server answers their thumbnails with its placeholder.
 */
export async function startSeededServer(name, admin, count, { years = 20 } = {}) {
  if (!existsSync(seedNode)) throw new Error(`${seedNode} missing: run ci/install-test-deps.sh (it installs Node 22, whose node:sqlite seeds the catalog)`);
  const blank = await startServer(name);
  const api = async (method, path, body, token) => {
    const response = await fetch(`${blank.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  };
  let owner;
  try {
    await api('POST', '/api/auth/admin-sign-up', admin);
    const { accessToken } = await api('POST', '/api/auth/login', admin);
    await api('PUT', '/api/shoebox/setup', { complete: true }, accessToken);
    owner = (await api('GET', '/api/users/me', undefined, accessToken)).id;
  } finally {
    // The catalog is written with the server stopped; its folder goes if the account could not be made.
    await blank.stop({ keepData: owner !== undefined });
  }
  try {
    execFileSync(seedNode, ['--no-warnings', join(repo, 'web/e2e/seed-catalog.mjs'), blank.dataDir, owner, String(count), String(years)], {
      stdio: 'inherit',
    });
    return await startServer(name, { dataDir: blank.dataDir });
  } catch (e) {
    await rm(blank.dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** One shoeboxd process; `listening` resolves with its address, or rejects if it exits first. */
function launchServer(bin, args, log) {
  const child = spawn(bin, args, { env: { ...process.env, RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Not ended with the process: a restarted server writes on to the same log.
  child.stderr.pipe(log, { end: false });
  // 'close', not 'exit': by then its output is read to the end, so nothing is written to a log already ended.
  const exited = new Promise((resolveExit) => child.once('close', (code, signal) => resolveExit({ code, signal })));

  const listening = new Promise((resolveAddress, reject) => {
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
    listening,
    exited,
    /**
     * SIGTERM, then SIGKILL after STOP_GRACE_MS, as systemd does: a server
     * that hangs on its way out must not hang the tests' cleanup with it.
     */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer;
      const late = new Promise((resolveLate) => (timer = setTimeout(() => resolveLate(true), STOP_GRACE_MS)));
      if (await Promise.race([exited.then(() => false), late])) {
        const message = `shoeboxd (pid ${child.pid}) did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM: killed`;
        log.write(`[harness] ${message}\n`);
        console.warn(message);
        child.kill('SIGKILL');
      }
      clearTimeout(timer);
      await exited;
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

/**
 * A `step(name, fn)` that runs `fn` as a test and, when it fails, leaves a
 * screenshot of the page `currentPage()` returns (the one the test was on).
 */
export function stepsWithScreenshots(currentPage) {
  return (name, fn) =>
    test(name, async () => {
      try {
        await fn();
      } catch (e) {
        await screenshot(currentPage(), `FAILED-${name.replace(/\W+/g, '-')}`).catch(() => {});
        throw e;
      }
    });
}

/**
 * One browser for a whole test file: launched before its tests, closed
 * after them, and then no page may have thrown. `session.current` is the
 * page of the test running now, which `session.step` screenshots when a
 * step fails.
 */
export function browserSession() {
  const session = { browser: undefined, current: undefined };
  before(async () => {
    session.browser = await launchBrowser();
  });
  after(async () => {
    await session.browser?.close();
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });
  session.step = stepsWithScreenshots(() => session.current);
  return session;
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

/** Creates the admin account on a fresh server, signs the page in and finishes the setup wizard, through the API. */
export async function signInNewAdmin(page, admin) {
  await call(page, 'POST', '/api/auth/admin-sign-up', admin);
  await call(page, 'POST', '/api/auth/login', { email: admin.email, password: admin.password });
  await call(page, 'PUT', '/api/shoebox/setup', { complete: true });
}

/**
 * A config file in `dir` that points shoeboxd at ci/fetch-ml.sh's runtime
 * and models, with `models` naming one per task (clip, ocr, face: "" turns
 * a task off) and any more lines after them; its path.
 */
export async function mlConfig(dir, { clip = '', ocr = '', face = '' }, extra = '') {
  const ml = join(repo, 'target/ml');
  const file = join(dir, 'shoebox.toml');
  await writeFile(
    file,
    `[ml]
runtime = "${ml}/runtime/libonnxruntime.so"
models_dir = "${ml}/models"
clip_model = "${clip}"
ocr_model = "${ocr}"
face_model = "${face}"
${extra}`,
  );
  return file;
}

/**
 * Scrolls the timeline by `step` pixels a frame for `frames` frames and
 * answers each frame's duration (sorted, the first left out), the most
 * tiles in the DOM at any frame, and where the scroll ended.
 */
export function scrollFrames(page, frames = 120, step = 350) {
  return page.locator('.scroller').evaluate(
    (el, [count, step]) =>
      new Promise((resolve) => {
        const times = [];
        let maxTiles = 0;
        let last = performance.now();
        const tick = (now) => {
          times.push(now - last);
          last = now;
          maxTiles = Math.max(maxTiles, document.querySelectorAll('[data-testid="tile"]').length);
          el.scrollTop += step;
          if (times.length < count) requestAnimationFrame(tick);
          else resolve({ frames: times.slice(1).sort((a, b) => a - b), maxTiles, scrollTop: el.scrollTop });
        };
        requestAnimationFrame(tick);
      }),
    [frames, step],
  );
}
