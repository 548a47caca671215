// One family's first hour with Shoebox, in a real browser against a real
// server: setup wizard, login, upload, timeline, viewer, albums, trash, and
// a second user who must not see the first one's photos.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { call, launchBrowser, newPage, pageErrors, photos, screenshot, startServer, stepsWithScreenshots } from './harness.mjs';

const ADMIN = { name: 'Alice Admin', email: 'alice@example.com', password: 'correct horse battery' };
const BOB = { name: 'Bob', email: 'bob@example.com', password: 'another long password', newPassword: 'reset by the admin' };
// Real camera files with EXIF capture dates spread over sixteen years.
const FILES = ['Nikon.jpg', 'GPS.jpg', 'Canon.jpg', 'NikonD70.jpg', 'Pentax.jpg', 'Apple.jpg', 'GoPro.jpg'];

let server;
let browser;
let page;

before(async () => {
  server = await startServer('library');
  browser = await launchBrowser();
  page = await newPage(browser, server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

/** Ids of the timeline's tiles in display order, scrolling through every month. */
async function timelineOrder() {
  const scroller = page.locator('.scroller');
  await scroller.evaluate((el) => (el.scrollTop = 0));
  const seen = [];
  for (;;) {
    // Months near the viewport load after a scroll; wait until none is a placeholder.
    await page.waitForFunction(() => !document.querySelector('.month [aria-busy="true"]'));
    for (const id of await page.getByTestId('tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.assetId))) {
      if (!seen.includes(id)) seen.push(id);
    }
    const done = await scroller.evaluate((el) => {
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) return true;
      el.scrollTop += el.clientHeight;
      return false;
    });
    if (done) break;
  }
  await scroller.evaluate((el) => (el.scrollTop = 0));
  return seen;
}

/** Each step leaves a screenshot of the page it was on when it fails. */
const step = stepsWithScreenshots(() => page);

const count = (n) => page.getByTestId('asset-count').filter({ hasText: new RegExp(`^${n} items?$`) });

step('the setup wizard takes a blank box to the timeline', async () => {
  await page.goto('/');
  await page.getByRole('heading', { name: 'Set up your Shoebox' }).waitFor();
  // A blank box asks first whether it starts a library or restores one; a new one is the default.
  await page.getByRole('heading', { name: 'New library or restore?' }).waitFor();
  assert.equal(await page.getByRole('radio', { name: 'Start a new library' }).isChecked(), true);
  await screenshot(page, '01-wizard-start');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: 'Create the admin account' }).waitFor();
  await screenshot(page, '01-wizard-account');

  await page.getByLabel('Your name').fill(ADMIN.name);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Password again').fill('something else');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('alert').filter({ hasText: 'The two passwords differ' }).waitFor();
  await page.getByLabel('Password again').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('heading', { name: 'Name the box' }).waitFor();
  // Someone else opening the box now is asked to log in and resumes here.
  const other = await newPage(browser, server);
  await other.goto('/');
  await other.getByRole('heading', { name: 'Welcome back' }).waitFor();
  await other.getByLabel('Email').fill(ADMIN.email);
  await other.getByLabel('Password').fill(ADMIN.password);
  await other.getByRole('button', { name: 'Log in and continue' }).click();
  await other.getByRole('heading', { name: 'Name the box' }).waitFor();
  await other.context().close();

  await page.getByLabel('Name', { exact: true }).fill('My Box');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('alert').filter({ hasText: 'lower-case letters' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('family-photos');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('heading', { name: 'Time zone' }).waitFor();
  await page.getByLabel('Time zone').selectOption('Europe/Paris');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('heading', { name: 'Where the library lives' }).waitFor();
  assert.equal(await page.getByTestId('data-dir').textContent(), server.dataDir);
  await screenshot(page, '02-wizard-library');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('heading', { name: 'Off-site backup (optional)' }).waitFor();
  await page.getByLabel('Backup target').fill('ftp://nas/backups');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('alert').filter({ hasText: 'absolute folder' }).waitFor();
  // Back keeps what was saved.
  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByRole('heading', { name: 'Where the library lives' }).waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Backup target').fill('rest:https://nas.local:8000/shoebox');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('heading', { name: 'Connect the phone app' }).waitFor();
  assert.equal(await page.getByTestId('server-url').textContent(), server.url);
  const qr = page.getByRole('img', { name: `QR code of the server URL ${server.url}` });
  await qr.waitFor();
  const box = await qr.boundingBox();
  assert.ok(box && box.width >= 100 && box.height >= 100, `QR code too small: ${JSON.stringify(box)}`);
  await screenshot(page, '03-wizard-phone-app');

  const saved = await call(page, 'GET', '/api/shoebox/setup');
  assert.equal(saved.complete, false, 'setup completes only on the last page');
  assert.equal(saved.hostname, 'family-photos');
  assert.equal(saved.timeZone, 'Europe/Paris');
  assert.equal(saved.backupTarget, 'rest:https://nas.local:8000/shoebox');

  await page.getByRole('button', { name: 'Open my library' }).click();
  await page.getByRole('heading', { name: 'Photos', exact: true }).waitFor();
  await page.getByText('No photos yet').waitFor();
  assert.equal((await call(page, 'GET', '/api/shoebox/setup')).complete, true);
});

step('log out, a wrong password, log in again and land where you were going', async () => {
  await page.getByRole('button', { name: `Account menu for ${ADMIN.name}` }).click();
  assert.equal(await page.getByTestId('user-name').textContent(), ADMIN.name);
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  // The session is really gone on the server.
  assert.equal((await page.request.get('/api/users/me')).status(), 401);

  await page.goto('/#/albums');
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Incorrect email or password' }).waitFor();
  await screenshot(page, '04-login');
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Albums' }).waitFor();

  // A session that ends under the page (expired, revoked elsewhere): the
  // next request's 401 leads to the login page, and back after it.
  await page.context().clearCookies();
  await page.getByRole('link', { name: 'Favourites' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Favourites' }).waitFor();
  await page.getByRole('link', { name: 'Photos' }).click();
  await page.getByText('No photos yet').waitFor();
});

step('photos uploaded with the file picker appear newest first, by their EXIF dates', async () => {
  await page.getByTestId('upload-input').setInputFiles(FILES.map((f) => join(photos, f)));
  const panel = page.getByTestId('upload-panel');
  await panel.getByRole('heading', { name: `Uploaded ${FILES.length}` }).waitFor();
  assert.equal(await panel.getByTestId('upload-item').filter({ hasText: 'Uploaded' }).count(), FILES.length);
  await count(FILES.length).waitFor();

  // Thumbnails and capture dates come from background jobs.
  await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');
  await page.getByText('Making thumbnails…').waitFor({ state: 'detached' });
  await page.reload();
  await count(FILES.length).waitFor();

  const order = await timelineOrder();
  assert.equal(order.length, FILES.length);
  const assets = await Promise.all(order.map((id) => call(page, 'GET', `/api/assets/${id}`)));
  assert.deepEqual(assets.map((a) => a.originalFileName).sort(), [...FILES].sort());
  const taken = assets.map((a) => a.exifInfo?.dateTimeOriginal);
  assert.ok(taken.every(Boolean), `every photo has an EXIF date: ${taken}`);
  const sorted = [...taken].sort((a, b) => Date.parse(b) - Date.parse(a));
  assert.deepEqual(taken, sorted, 'the timeline shows the newest capture first');
  // Month headings follow the same order.
  const firstMonth = await page.locator('.month h2').first().textContent();
  assert.match(firstMonth ?? '', /2017/);
  await page.locator('.tile img').first().evaluate((img) => img.decode());
  await screenshot(page, '05-timeline');
});

step('uploading the same photo again is reported as a duplicate', async () => {
  await page.getByTestId('upload-input').setInputFiles(join(photos, 'Canon.jpg'));
  const panel = page.getByTestId('upload-panel');
  await panel.getByTestId('upload-item').filter({ hasText: 'Duplicate — already in your library' }).waitFor();
  await panel.getByRole('heading', { name: /1 duplicate/ }).waitFor();
  await screenshot(page, '06-upload-duplicate');

  // A file the server refuses is named with the server's reason.
  await page.getByTestId('upload-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') });
  await panel
    .getByTestId('upload-item')
    .filter({ hasText: 'notes.txt' })
    .filter({ hasText: 'this file type is not supported' })
    .waitFor();
  await panel.getByRole('heading', { name: /1 failed/ }).waitFor();
  await page.getByRole('button', { name: 'Close uploads' }).click();
  await count(FILES.length).waitFor();
});

step('the viewer shows camera details and walks the timeline with the arrow keys', async () => {
  const order = await timelineOrder();
  const [first, second] = await Promise.all(order.slice(0, 2).map((id) => call(page, 'GET', `/api/assets/${id}`)));
  await page.locator(`[data-asset-id="${first.id}"] button.open`).click();
  const viewer = page.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByText(first.originalFileName, { exact: true }).waitFor();
  await viewer.getByRole('button', { name: 'Info' }).click();
  const camera = viewer.getByTestId('camera');
  assert.equal(await camera.textContent(), `${first.exifInfo.make} ${first.exifInfo.model}`);
  await screenshot(page, '07-viewer');

  await page.keyboard.press('ArrowRight');
  await viewer.getByText(second.originalFileName, { exact: true }).waitFor();
  await camera.filter({ hasText: `${second.exifInfo.make} ${second.exifInfo.model}` }).waitFor();
  await page.keyboard.press('ArrowLeft');
  await viewer.getByText(first.originalFileName, { exact: true }).waitFor();

  // A swipe to the left shows the next photo, to the right the one before.
  const swipe = async (dx) => {
    const box = await viewer.locator('.stage').boundingBox();
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + dx / 2, y, { steps: 4 });
    await page.mouse.move(x + dx, y, { steps: 4 });
    await page.mouse.up();
  };
  await swipe(-200);
  await viewer.getByText(second.originalFileName, { exact: true }).waitFor();
  await swipe(200);
  await viewer.getByText(first.originalFileName, { exact: true }).waitFor();

  await viewer.getByRole('button', { name: 'Zoom in' }).click();
  await viewer.getByRole('button', { name: 'Zoom out' }).waitFor();
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
});

step('favourites, archive and search', async () => {
  const order = await timelineOrder();
  await page.locator(`[data-asset-id="${order[0]}"] button.open`).click();
  const viewer = page.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByRole('button', { name: 'Add to favourites' }).click();
  await viewer.getByRole('button', { name: 'Remove from favourites' }).waitFor();
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Favourites' }).click();
  await count(1).waitFor();
  await page.locator(`[data-asset-id="${order[0]}"]`).getByRole('img', { name: 'Favourite' }).waitFor();

  await page.getByRole('link', { name: 'Photos' }).click();
  await count(FILES.length).waitFor();
  await page.locator(`[data-asset-id="${order[1]}"]`).getByRole('checkbox').click();
  await page.getByRole('button', { name: 'Archive' }).click();
  await count(FILES.length - 1).waitFor();
  await page.getByRole('link', { name: 'Archive' }).click();
  await count(1).waitFor();
  await page.locator(`[data-asset-id="${order[1]}"]`).getByRole('checkbox').click();
  await page.getByRole('button', { name: 'Unarchive' }).click();
  await page.getByText('Nothing here yet.').waitFor();

  // One box for file names and cameras: a model name finds the iPhone photo.
  await page.getByRole('searchbox', { name: 'Search photos' }).fill('iPhone 7');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Search: “iPhone 7”' }).waitFor();
  await page.getByRole('button', { name: 'Apple.jpg' }).waitFor();
  assert.equal(await page.locator('.grid [data-asset-id]').count(), 1);
  await page.getByRole('searchbox', { name: 'Search photos' }).fill('nikon');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'NikonD70.jpg' }).waitFor();
  await page.getByRole('button', { name: 'Nikon.jpg', exact: true }).waitFor();
  await screenshot(page, '08-search');
  await page.getByRole('link', { name: 'Photos' }).click();
  await count(FILES.length).waitFor();
});

step('an album made from a selection can be opened, renamed, trimmed and deleted', async () => {
  const order = await timelineOrder();
  const check = (id) => page.locator(`[data-asset-id="${id}"]`).getByRole('checkbox');
  await check(order[0]).click();
  await check(order[2]).click({ modifiers: ['Shift'] });
  await page.getByTestId('selection-count').filter({ hasText: '3 selected' }).waitFor();
  await screenshot(page, '09-selection');

  await page.getByRole('button', { name: 'Add to album' }).click();
  const picker = page.getByRole('dialog', { name: 'Add 3 to an album' });
  await picker.getByLabel('New album').fill('Holidays');
  await picker.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: 'Holidays' }).waitFor();
  await count(3).waitFor();

  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('Album name').fill('Summer trips');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Summer trips' }).waitFor();

  const inAlbum = await timelineOrder();
  assert.deepEqual(inAlbum, order.slice(0, 3));
  await page.locator(`[data-asset-id="${inAlbum[1]}"]`).getByRole('checkbox').click();
  await page.getByRole('button', { name: 'Remove from album' }).click();
  await count(2).waitFor();

  const albums = await call(page, 'GET', '/api/albums');
  assert.deepEqual(
    albums.map((a) => [a.albumName, a.assetCount]),
    [['Summer trips', 2]],
  );
  await page.getByRole('link', { name: 'Albums' }).click();
  const card = page.getByTestId('album-card').filter({ hasText: 'Summer trips' });
  await card.filter({ hasText: '2 items' }).waitFor();
  await screenshot(page, '10-albums');
  await card.click();
  await page.getByRole('heading', { name: 'Summer trips' }).waitFor();
  await count(2).waitFor();

  // Deleting the album keeps its photos.
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete album' }).click();
  await page.getByText('No albums yet').waitFor();
  assert.deepEqual(await call(page, 'GET', '/api/albums'), []);
  await page.getByRole('link', { name: 'Photos' }).click();
  await count(FILES.length).waitFor();
});

step('a photo deleted to the trash can be restored, or deleted for good', async () => {
  await page.getByRole('link', { name: 'Photos' }).click();
  await count(FILES.length).waitFor();
  const [victim] = await timelineOrder();
  await page.locator(`[data-asset-id="${victim}"]`).getByRole('checkbox').click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await count(FILES.length - 1).waitFor();
  assert.equal(await page.locator(`[data-asset-id="${victim}"]`).count(), 0);

  await page.getByRole('link', { name: 'Trash' }).click();
  await count(1).waitFor();
  await page.locator(`[data-asset-id="${victim}"]`).waitFor();
  await screenshot(page, '11-trash');
  await page.locator(`[data-asset-id="${victim}"]`).getByRole('checkbox').click();
  await page.getByRole('button', { name: 'Restore' }).click();
  await page.getByText('The trash is empty.').waitFor();
  assert.equal((await call(page, 'GET', `/api/assets/${victim}`)).isTrashed, false);

  await page.getByRole('link', { name: 'Photos' }).click();
  await count(FILES.length).waitFor();

  // Emptying the trash deletes for good, after a confirmation.
  await page.locator(`[data-asset-id="${victim}"]`).getByRole('checkbox').click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await count(FILES.length - 1).waitFor();
  await page.getByRole('link', { name: 'Trash' }).click();
  await count(1).waitFor();
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Empty trash' }).click();
  await page.getByText('The trash is empty.').waitFor();
  assert.equal((await page.request.get(`/api/assets/${victim}`)).ok(), false, 'the emptied photo is gone');
});

step('admin pages: a second user made by the admin sees none of the admin photos', async () => {
  await page.getByRole('link', { name: 'Server status' }).click();
  await page.getByText('Data folder').waitFor();
  // The hardware found: this machine has no video engine, so software; no NPU either.
  assert.match(await page.getByTestId('status-video-engine').textContent(), /Transcoding runs on software/);
  await page.getByText('None found: models run on the CPU').waitFor();
  await screenshot(page, '12-admin-status');
  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.getByText('No failed jobs.').waitFor();

  // A damaged photo: the upload succeeds, processing it fails, and the jobs page says why.
  await page.getByTestId('upload-input').setInputFiles({ name: 'damaged.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('\xff\xd8 not really a JPEG') });
  await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 1' }).waitFor();
  await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');
  await page.getByRole('button', { name: 'Refresh' }).click();
  const failed = page.getByRole('row').filter({ hasText: 'thumbnailGeneration' });
  await failed.first().waitFor();
  await screenshot(page, '13-admin-jobs');
  await page.getByRole('button', { name: 'Retry failed' }).click();
  await page.getByRole('status').filter({ hasText: /[1-9]\d* jobs? queued again/ }).waitFor();
  // Pausing a queue holds its jobs; resuming lets them run.
  const thumbnails = page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /^Thumbnails/ });
  await thumbnails.getByRole('button', { name: 'Pause' }).click();
  await thumbnails.getByText('paused', { exact: true }).waitFor();
  assert.equal((await call(page, 'GET', '/api/queues')).find((q) => q.name === 'thumbnailGeneration').isPaused, true);
  await thumbnails.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('status').filter({ hasText: 'resumed' }).waitFor();
  assert.equal(await thumbnails.getByText('paused', { exact: true }).count(), 0, 'the table shows it resumed');
  assert.equal((await call(page, 'GET', '/api/queues')).find((q) => q.name === 'thumbnailGeneration').isPaused, false);
  await page.getByRole('button', { name: 'Close uploads' }).click();

  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByLabel('Name', { exact: true }).fill(BOB.name);
  await page.getByLabel('Email', { exact: true }).fill(BOB.email);
  await page.getByLabel('Password', { exact: true }).fill(BOB.password);
  await page.getByRole('button', { name: 'Create user' }).click();
  const bob = page.getByTestId('user-row').filter({ hasText: BOB.email });
  await bob.waitFor();
  // The admin resets the password; only the new one works afterwards.
  await bob.getByRole('button', { name: 'Reset password' }).click();
  await bob.getByLabel(`New password for ${BOB.email}`).fill(BOB.newPassword);
  await bob.getByRole('button', { name: 'Set' }).click();
  await page.getByRole('status').filter({ hasText: `New password set for ${BOB.email}` }).waitFor();
  await screenshot(page, '14-admin-users');

  await page.getByRole('button', { name: `Account menu for ${ADMIN.name}` }).click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Shoebox' }).waitFor();
  await page.getByLabel('Email').fill(BOB.email);
  await page.getByLabel('Password').fill(BOB.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Incorrect email or password' }).waitFor();
  await page.getByLabel('Password').fill(BOB.newPassword);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('No photos yet').waitFor();

  // The admin's password was temporary: the page asks for one of Bob's own.
  await page.getByRole('link', { name: 'Choose your own' }).click();
  await page.getByLabel('Current password').fill(BOB.newPassword);
  await page.getByLabel('New password', { exact: true }).fill(BOB.password);
  await page.getByLabel('New password again').fill(BOB.password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
  assert.equal(await page.getByText('temporary password').count(), 0);
  await page.getByRole('link', { name: 'Photos' }).click();
  assert.deepEqual(await call(page, 'GET', '/api/timeline/buckets'), []);
  assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0, 'no admin menu for a plain user');
  await page.getByRole('link', { name: 'Albums' }).click();
  await page.getByText('No albums yet').waitFor();
});

step('photos dropped onto the page are uploaded', async () => {
  await page.getByRole('link', { name: 'Photos' }).click();
  await page.getByText('No photos yet').waitFor();
  const bytes = (await readFile(join(photos, 'Sony.jpg'))).toString('base64');
  const transfer = await page.evaluateHandle((b64) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const t = new DataTransfer();
    t.items.add(new File([data], 'Sony.jpg', { type: 'image/jpeg', lastModified: Date.UTC(2020, 0, 2) }));
    return t;
  }, bytes);
  await page.dispatchEvent('main', 'dragenter', { dataTransfer: transfer });
  await page.getByText('Drop photos and videos to upload them').waitFor();
  await screenshot(page, '15-drop');
  await page.dispatchEvent('main', 'drop', { dataTransfer: transfer });
  await page.getByText('Drop photos and videos to upload them').waitFor({ state: 'detached' });
  await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 1' }).waitFor();
  await count(1).waitFor();
  const [bucket] = await call(page, 'GET', '/api/timeline/buckets');
  assert.equal(bucket.count, 1);
});

step('phone width and the dark theme', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.getByRole('button', { name: 'Menu', exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Favourites' }).click();
  await page.getByRole('heading', { name: 'Favourites' }).waitFor();
  await page.getByRole('button', { name: 'Menu', exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Photos' }).click();
  await count(1).waitFor();
  await page.getByRole('button', { name: 'Close uploads' }).click();
  await page.getByTestId('tile').waitFor();
  await screenshot(page, '16-phone-dark');
  // The theme is the browser's choice, kept across reloads.
  await page.reload();
  await count(1).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
});
