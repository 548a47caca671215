// The Updates page. First against the real server, where no RAUC runs:
// the page says updates are installed this way on the appliance only. Then
// with RAUC's answers stood in by the browser, since RAUC and an A/B boot
// loader run only on the appliance (ci/image-test.sh installs real bundles
// in the VM through the same routes): a refused bundle shows RAUC's
// reason; a good one is sent, installed with progress, and the box is
// restarted onto it; a rollback is shown as what happened. The update
// source is saved on the real server (a wrong address is its 400); what
// the source offers, its download and RAUC's installation are stood in.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { launchBrowser, newPage, pageErrors, screenshot, signInNewAdmin, startServer, stepsWithScreenshots } from './harness.mjs';

const ADMIN = { name: 'Alice Admin', email: 'alice@example.com', password: 'correct horse battery' };

const slot = (bootname, state, bootStatus, version = '', installedAt = '') => ({
  name: `rootfs.${bootname === 'A' ? 0 : 1}`,
  bootname,
  state,
  bootStatus,
  version,
  installedAt,
});
const idle = (booted, slots, rolledBack = null) => ({ booted, slots, operation: 'idle', progress: 0, message: '', lastError: '', rolledBack });

describe('updates', () => {
  let browser, server, page;
  const step = stepsWithScreenshots(() => page);
  /** What the stood-in RAUC answers, and what it was sent. */
  const rauc = { status: null, bundles: [], restarts: 0, down: false };
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

  before(async () => {
    browser = await launchBrowser();
    server = await startServer('updates');
    page = await newPage(browser, server);
    await signInNewAdmin(page, ADMIN);
  });

  after(async () => {
    await page?.context().close();
    await browser?.close();
    await server?.stop();
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });

  step('without RAUC the page says updates come through the appliance', async () => {
    await page.goto('/#/admin/updates');
    await page.getByTestId('updates-absent').waitFor();
    assert.match(await page.getByTestId('updates-absent').innerText(), /appliance only/);
    await screenshot(page, '30-updates-absent');
  });

  step('a bundle RAUC refuses shows its reason and changes nothing', async () => {
    rauc.status = idle('A', [slot('A', 'booted', 'good'), slot('B', 'inactive', 'bad')]);
    await page.route('**/api/shoebox/update', (route) => json(route, 200, rauc.status));
    await page.route('**/api/shoebox/update/bundle', async (route) => {
      const body = route.request().postDataBuffer();
      rauc.bundles.push(body.toString());
      if (body.toString() === 'signed by a stranger') {
        return json(route, 400, { message: "The update was refused and nothing was changed: RAUC could not verify the bundle (rauc info error)", statusCode: 400, error: 'Bad Request' });
      }
      rauc.status = { ...rauc.status, operation: 'installing', progress: 40, message: 'Copying image to rootfs.1' };
      return json(route, 202, { installing: '2' });
    });
    await page.route('**/api/shoebox/update/restart', (route) => {
      rauc.restarts++;
      rauc.down = true;
      return json(route, 202, { restarting: true });
    });
    await page.route('**/api/server/ping', (route) => (rauc.down ? route.abort('connectionrefused') : route.continue()));
    await page.reload();
    await page.getByTestId('running').waitFor();
    assert.equal(await page.getByTestId('running').innerText(), 'Running the version the box came with from slot A.');

    await page.getByLabel('Update bundle (.raucb)').setInputFiles({ name: 'stranger.raucb', mimeType: 'application/octet-stream', buffer: Buffer.from('signed by a stranger') });
    await page.getByRole('button', { name: 'Install update' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused and nothing was changed' }).waitFor();
    assert.deepEqual(rauc.bundles, ['signed by a stranger'], 'the file itself is the body');
    await screenshot(page, '31-updates-refused');
  });

  step('a good bundle installs with progress, and the box restarts onto it', async () => {
    await page.getByLabel('Update bundle (.raucb)').setInputFiles({ name: 'shoebox-2.raucb', mimeType: 'application/octet-stream', buffer: Buffer.from('version 2') });
    await page.getByRole('button', { name: 'Install update' }).click();
    await page.getByRole('status').filter({ hasText: 'Installing version 2: Copying image to rootfs.1' }).waitFor();
    assert.equal(await page.getByRole('progressbar', { name: 'Installing the update' }).getAttribute('value'), '40');
    await screenshot(page, '32-updates-installing');

    // RAUC is done: slot B holds version 2 and is marked to boot.
    rauc.status = idle('A', [slot('A', 'booted', 'good'), slot('B', 'inactive', 'good', '2', '2026-12-03T18:00:00Z')]);
    await page.getByTestId('pending').waitFor();
    assert.match(await page.getByTestId('pending').innerText(), /Version 2 is installed in slot B/);
    await page.getByRole('button', { name: 'Restart now' }).click();
    await page.getByRole('status').filter({ hasText: 'Restarting' }).waitFor();
    assert.equal(rauc.restarts, 1);

    // Back, on slot B.
    rauc.status = idle('B', [slot('A', 'inactive', 'good'), slot('B', 'booted', 'good', '2', '2026-12-03T18:00:00Z')]);
    rauc.down = false;
    await page.getByTestId('running').filter({ hasText: 'Running version 2 from slot B.' }).waitFor();
    assert.equal(await page.getByTestId('pending').count(), 0, 'nothing waits for a restart');
    await screenshot(page, '33-updates-running');
  });

  step('a rolled-back update is shown as what happened', async () => {
    const broken = slot('A', 'inactive', 'bad', '3', '2026-12-03T19:00:00Z');
    rauc.status = idle('B', [broken, slot('B', 'booted', 'good', '2', '2026-12-03T18:00:00Z')], broken);
    await page.reload();
    const notice = page.getByTestId('rolled-back');
    await notice.waitFor();
    assert.match(await notice.innerText(), /The update to version 3, installed .*, did not start healthy, so the box went back to version 2 by itself/);
    assert.equal(await page.getByTestId('pending').count(), 0, 'a rolled-back slot is not offered for a restart');
    await screenshot(page, '34-updates-rolled-back');
  });

  step('an update source is saved, and the release it offers is downloaded and installed', async () => {
    await page.getByLabel('Release manifest address').fill('ftp://updates.example/latest.json');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'is not an update source' }).waitFor();

    const address = 'https://updates.example/shoebox/latest.json';
    await page.getByLabel('Release manifest address').fill(address);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Check now' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Check now' }).waitFor();
    assert.equal(await page.getByLabel('Release manifest address').inputValue(), address, 'the server kept the address');

    // What the source offers, its download and RAUC's installation.
    const release = { version: '4', url: 'https://updates.example/shoebox/qemu-4.raucb', sha256: '0'.repeat(64), size: 200 };
    const source = (download, available = true) => ({
      url: address,
      check: { checkedAt: Date.parse('2026-12-04T08:00:00Z'), url: address, offered: release, error: '' },
      available,
      download: { state: '', version: '', received: 0, total: 0, error: '', ...download },
    });
    let now = source({});
    let installs = 0;
    await page.route('**/api/shoebox/update/source/check', (route) => json(route, 200, now));
    await page.route('**/api/shoebox/update/source/install', (route) => {
      installs++;
      now = source({ state: 'downloading', version: '4', received: 50, total: 200 });
      return json(route, 202, { downloading: '4' });
    });
    await page.route('**/api/shoebox/update/source', (route) => (route.request().method() === 'GET' ? json(route, 200, now) : route.continue()));

    await page.getByRole('button', { name: 'Check now' }).click();
    await page.getByTestId('source-check').filter({ hasText: 'version 4 is available' }).waitFor();
    await page.getByRole('button', { name: 'Download and install version 4' }).click();
    const downloading = page.getByRole('progressbar', { name: 'Downloading the update' });
    await downloading.waitFor();
    assert.equal(await downloading.getAttribute('value'), '0.25');
    assert.equal(installs, 1);
    await screenshot(page, '35-updates-downloading');

    // Downloaded and checked: RAUC has it, and the page follows RAUC.
    rauc.status = { ...rauc.status, operation: 'installing', progress: 70, message: 'Copying image to rootfs.0' };
    now = source({ state: 'installing', version: '4', received: 200, total: 200 });
    await page.getByRole('status').filter({ hasText: 'Installing version 4: Copying image to rootfs.0' }).waitFor();
    await screenshot(page, '36-updates-installing-from-source');
  });
});
