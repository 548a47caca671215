// Alerts in a real browser: the admin sends alerts to a webhook (a server
// started here) and tests it; a nearly full disk (a small tmpfs as the data
// folder, so root only) shows as a banner above every page and in the
// notifications, is marked read, and goes away once space is back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { call, launchBrowser, newPage, pageErrors, screenshot, signInNewAdmin, startServer, stepsWithScreenshots } from './harness.mjs';
import { needsRoot } from './storage-service.mjs';

const ADMIN = { name: 'Alice Admin', email: 'alice@example.com', password: 'correct horse battery' };

/** A webhook receiver: every POSTed JSON body, in order. */
async function startWebhook() {
  const bodies = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(text));
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, bodies, close: () => server.close() };
}

describe('alerts', { skip: needsRoot }, () => {
  let browser, dir, data, server, page, webhook;
  const step = stepsWithScreenshots(() => page);

  before(async () => {
    browser = await launchBrowser();
    dir = await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-alerts-'));
    data = join(dir, 'small');
    await mkdir(data);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', data]);
    webhook = await startWebhook();
    server = await startServer('alerts', { dataDir: data });
    page = await newPage(browser, server);
    await signInNewAdmin(page, ADMIN);
  });

  after(async () => {
    await page?.context().close();
    await browser?.close();
    await server?.stop({ keepData: true });
    webhook?.close();
    if (data) execFileSync('umount', [data]);
    if (dir) await rm(dir, { recursive: true, force: true });
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });

  step('the admin sends alerts to a webhook and a test reaches it', async () => {
    await page.goto('/#/notifications');
    await page.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();
    await page.getByText('Nothing to report').waitFor();
    await page.getByLabel('To a webhook').check();
    await page.getByLabel('Address').fill(webhook.url);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('button', { name: 'Send a test alert' }).click();
    await page.getByTestId('alert-test').filter({ hasText: 'Email: not set up. Webhook: sent.' }).waitFor();
    assert.deepEqual(
      webhook.bodies.map((b) => b.alert.key),
      ['test'],
    );
    await screenshot(page, '90-alert-delivery');
  });

  step('a nearly full disk shows above every page and in the notifications', async () => {
    const { blocks, bavail, bsize } = statfsSync(data);
    await writeFile(join(data, 'filler'), Buffer.alloc(Math.floor(bavail - blocks / 50) * bsize));
    const open = await call(page, 'POST', '/api/shoebox/alerts/check');
    assert.deepEqual(
      open.map((a) => a.key),
      ['storage-full'],
    );
    await page.goto('/');
    const banner = page.getByTestId('alert-banner');
    await banner.getByRole('alert').filter({ hasText: 'Storage nearly full.' }).waitFor();
    await screenshot(page, '91-alert-banner');
    assert.deepEqual(
      webhook.bodies.map((b) => b.alert.key),
      ['test', 'storage-full'],
    );

    await banner.getByRole('link', { name: 'All notifications' }).click();
    const item = page.getByTestId('notifications').getByRole('listitem').filter({ hasText: 'Storage nearly full' });
    await item.filter({ hasText: 'unread' }).waitFor();
    await item.getByRole('button', { name: 'Mark as read' }).click();
    await item.getByRole('button', { name: 'Mark as read' }).waitFor({ state: 'detached' });
    assert.equal(await item.filter({ hasText: 'unread' }).count(), 0);
    await screenshot(page, '92-notifications');
  });

  step('once space is back the banner goes, the notification stays', async () => {
    await rm(join(data, 'filler'));
    assert.deepEqual(await call(page, 'POST', '/api/shoebox/alerts/check'), []);
    const alertsRead = page.waitForResponse((r) => r.url().endsWith('/api/shoebox/alerts'));
    await page.reload();
    assert.deepEqual(await (await alertsRead).json(), [], 'the banner is told of no alerts');
    await page.getByTestId('notifications').getByRole('listitem').filter({ hasText: 'Storage nearly full' }).waitFor();
    assert.equal(await page.getByTestId('alert-banner').count(), 0, 'no banner');
  });
});
