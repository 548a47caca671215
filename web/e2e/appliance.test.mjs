// On the appliance the wizard offers to pool disks (here the storage
// service is absent, so it says so and goes on) and hands the phone the
// box's mDNS name rather than the address the browser happened to use.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, newPage, pageErrors, screenshot, startServer } from './harness.mjs';

const ADMIN = { name: 'Admin', email: 'admin@example.com', password: 'correct horse battery' };

let configDir;
let server;
let browser;
let page;

before(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-config-'));
  const config = join(configDir, 'shoebox.toml');
  // A bus where nothing listens: the storage service is absent, on any host.
  await writeFile(config, `appliance = true\nstorage_bus = ${JSON.stringify(`unix:path=${join(configDir, 'no-such-bus')}`)}\n`);
  server = await startServer('appliance', { args: ['--config', config] });
  browser = await launchBrowser();
  page = await newPage(browser, server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await rm(configDir, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

test('the appliance wizard names the box for the phone app', async () => {
  await page.goto('/');
  // A blank box asks first whether it starts a library or restores one.
  await page.getByRole('heading', { name: 'New library or restore?' }).waitFor();
  await page.getByRole('radio', { name: 'Start a new library' }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Your name').fill(ADMIN.name);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Password again').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByLabel('Name', { exact: true }).fill('attic');
  await page.getByText('http://attic.local').waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: 'Time zone' }).waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: 'Where the library lives' }).waitFor();
  // Without the storage service there are no disks to pool: its message, and the library stays in the data folder.
  await page.getByTestId('storage-absent').filter({ hasText: 'The storage service (shoebox-storaged) is not running here' }).waitFor();
  await page.getByText(`The library stays in the data folder ${server.dataDir}`).waitFor();
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no disks offered');
  await page.getByRole('button', { name: 'Next' }).click();

  // A folder path with ".." passes the page's own check; the server's message is shown.
  await page.getByLabel('Backup target').fill('/mnt/../etc');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('alert').filter({ hasText: 'backupTarget: "/mnt/../etc" is neither an absolute folder' }).waitFor();
  await page.getByLabel('Backup target').fill('');
  await page.getByRole('button', { name: 'Skip' }).click();

  await page.getByRole('heading', { name: 'Connect the phone app' }).waitFor();
  assert.equal(await page.getByTestId('server-url').textContent(), 'http://attic.local');
  await page.getByRole('img', { name: 'QR code of the server URL http://attic.local' }).waitFor();
  await screenshot(page, '30-appliance-phone-app');
  await page.getByRole('button', { name: 'Open my library' }).click();
  await page.getByText('No photos yet').waitFor();
});
