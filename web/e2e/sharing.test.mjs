// Sharing in a real browser against a real server: an album shared with
// another user as viewer then editor, a whole library shared with a
// partner and mixed into their timeline, an album shared by a user who is
// not an admin, public links opened without an account and edited, the
// map, and quotas.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { call, launchBrowser, newPage, pageErrors, photos, screenshot, startServer, stepsWithScreenshots } from './harness.mjs';

const ALICE = { name: 'Alice Admin', email: 'alice@example.com', password: 'correct horse battery' };
const CAROL = { name: 'Carol', email: 'carol@example.com', password: 'carol long password' };
const BOB = { name: 'Bob', email: 'bob@example.com', password: 'bob long password' };
// GPS.jpg is the one with a position, for the map.
const FILES = ['GPS.jpg', 'Canon.jpg', 'Nikon.jpg'];
const LINK_PASSWORD = 'open sesame';

let server;
let browser;
let alice;
/** Pages of the other people, each in its own browser profile. */
const others = [];
let album;
let current;
/** Bob, once he has an account: Alice's partner. */
let bob;
/** The album link given out to visitors, edited in a later step. */
let albumLinkUrl;

before(async () => {
  server = await startServer('sharing');
  browser = await launchBrowser();
  alice = await newPage(browser, server);
  current = alice;
  // The wizard has its own test; here the box is set up through the API.
  await call(alice, 'POST', '/api/auth/admin-sign-up', ALICE);
  await call(alice, 'POST', '/api/auth/login', { email: ALICE.email, password: ALICE.password });
  await call(alice, 'PUT', '/api/shoebox/setup', { complete: true });
  await alice.goto('/');
  await upload(alice, FILES);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

/** Each step leaves a screenshot of the page it was on when it fails. */
const step = stepsWithScreenshots(() => current);

async function upload(page, files) {
  await page.getByRole('link', { name: 'Photos', exact: true }).click();
  await page.getByTestId('upload-input').setInputFiles(files.map((f) => join(photos, f)));
  await page.getByTestId('upload-panel').getByRole('heading', { name: `Uploaded ${files.length}` }).waitFor();
  await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');
  await page.getByRole('button', { name: 'Close uploads' }).click();
  await page.getByTestId('asset-count').filter({ hasText: `${files.length} item` }).waitFor();
}

async function logIn(user) {
  const page = await newPage(browser, server);
  others.push(page);
  current = page;
  await page.goto('/');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Photos', exact: true }).waitFor();
  return page;
}

/** A browser profile with no account, as whoever receives a link. */
async function visitor() {
  const page = await newPage(browser, server);
  others.push(page);
  current = page;
  return page;
}

const count = (page, n) => page.getByTestId('asset-count').filter({ hasText: new RegExp(`^${n} items?$`) });

step('the admin adds a user and sets their quota', async () => {
  await alice.getByRole('link', { name: 'Users' }).click();
  await alice.getByLabel('Name', { exact: true }).fill(CAROL.name);
  await alice.getByLabel('Email', { exact: true }).fill(CAROL.email);
  await alice.getByLabel('Password', { exact: true }).fill(CAROL.password);
  await alice.getByRole('button', { name: 'Create user' }).click();
  const row = alice.getByTestId('user-row').filter({ hasText: CAROL.email });
  await row.getByRole('button', { name: 'Quota' }).click();
  await row.getByLabel(`Quota in GiB for ${CAROL.email}`).fill('2.5');
  await row.getByRole('button', { name: 'Save' }).click();
  await row.getByTestId('user-storage').filter({ hasText: 'of 2.5 GiB' }).waitFor();
  await screenshot(alice, '40-admin-quota');
  const carol = (await call(alice, 'GET', '/api/admin/users')).find((u) => u.email === CAROL.email);
  assert.equal(carol.quotaSizeInBytes, 2.5 * 1024 ** 3);

  // Emptying the field lifts the limit.
  await row.getByRole('button', { name: 'Quota' }).click();
  await row.getByLabel(`Quota in GiB for ${CAROL.email}`).fill('');
  await row.getByRole('button', { name: 'Save' }).click();
  await alice.getByRole('status').filter({ hasText: 'has no storage limit now' }).waitFor();
  assert.equal((await call(alice, 'GET', `/api/admin/users/${carol.id}`)).quotaSizeInBytes, null);
});

step('an album shared as viewer, then editor, then taken back', async () => {
  const assets = await call(alice, 'POST', '/api/search/metadata', { size: 10 });
  const ids = assets.assets.items.map((a) => a.id);
  album = await call(alice, 'POST', '/api/albums', { albumName: 'Family', assetIds: ids.slice(0, 2) });
  await alice.goto(`/#/albums/${album.id}`);
  await alice.getByRole('heading', { name: 'Family' }).waitFor();
  await alice.getByRole('button', { name: 'Share', exact: true }).click();
  const dialog = alice.getByRole('dialog', { name: 'Share “Family”' });
  await dialog.getByText('Only you see this album.').waitFor();
  await dialog.getByLabel('Share with').selectOption({ label: `${CAROL.name} (${CAROL.email})` });
  await dialog.getByLabel('Role', { exact: true }).selectOption('viewer');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  const member = dialog.getByTestId('album-member').filter({ hasText: CAROL.email });
  await member.waitFor();
  await screenshot(alice, '41-album-members');

  const carol = await logIn(CAROL);
  await upload(carol, ['Sony.jpg']);
  await carol.getByRole('link', { name: 'Albums' }).click();
  const shared = carol.getByRole('region', { name: 'Shared with me' }).getByTestId('album-card').filter({ hasText: 'Family' });
  await shared.filter({ hasText: `from ${ALICE.name}` }).waitFor();
  await screenshot(carol, '42-albums-shared-with-me');
  await shared.click();
  await count(carol, 2).waitFor();
  await carol.getByTestId('album-role').filter({ hasText: 'you can view' }).waitFor();
  assert.equal(await carol.getByRole('button', { name: 'Delete album' }).count(), 0, 'only the owner deletes');
  await carol.locator('.tile img').first().evaluate((img) => img.decode());
  await screenshot(carol, '43-shared-album');

  // A viewer cannot add photos: the server's reason is shown.
  const addOwn = async () => {
    await carol.getByRole('link', { name: 'Photos', exact: true }).click();
    await count(carol, 1).waitFor();
    await carol.getByTestId('tile').getByRole('checkbox').click();
    await carol.getByRole('button', { name: 'Add to album' }).click();
    const picker = carol.getByRole('dialog', { name: 'Add 1 to an album' });
    await picker.getByRole('button', { name: 'Family' }).click();
    return picker;
  };
  const picker = await addOwn();
  await picker.getByRole('alert').filter({ hasText: 'Viewers cannot add photos' }).waitFor();
  await picker.getByRole('button', { name: 'Cancel' }).click();
  await carol.getByRole('button', { name: 'Clear selection' }).click();

  // The owner makes Carol an editor; now her photo goes in.
  await Promise.all([
    alice.waitForResponse((r) => r.url().includes(`/albums/${album.id}/user/`) && r.request().method() === 'PUT' && r.ok()),
    member.getByLabel(`Role of ${CAROL.name}`).selectOption('editor'),
  ]);
  await addOwn();
  await carol.getByRole('status').filter({ hasText: 'Added 1 item to the album' }).waitFor();
  await carol.getByRole('link', { name: 'Albums' }).click();
  await carol.getByTestId('album-card').filter({ hasText: 'Family' }).click();
  await count(carol, 3).waitFor();
  await carol.getByTestId('album-role').filter({ hasText: 'you can add photos' }).waitFor();

  // Taken back: the album is gone from Carol's list and from the server's answers.
  await member.getByRole('button', { name: `Remove ${CAROL.name}` }).click();
  await dialog.getByText('Only you see this album.').waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await carol.getByRole('link', { name: 'Photos', exact: true }).click();
  await carol.getByRole('link', { name: 'Albums' }).click();
  await carol.getByText('No albums yet').waitFor();
  assert.equal((await carol.request.get(`/api/albums/${album.id}`)).ok(), false);
  current = alice;
});

step('a partner sees my library until I stop sharing it', async () => {
  await call(alice, 'POST', '/api/admin/users', { ...BOB, quotaSizeInBytes: null });
  await alice.getByRole('link', { name: 'Sharing' }).click();
  await alice.getByText('Nobody yet.').waitFor();
  await alice.getByLabel('Share my library with').selectOption({ label: `${BOB.name} (${BOB.email})` });
  await alice.getByRole('button', { name: 'Share my library' }).click();
  await alice.getByTestId('partner-by').filter({ hasText: BOB.email }).waitFor();
  await screenshot(alice, '44-sharing');

  bob = await logIn(BOB);
  await upload(bob, ['Sony.jpg']);
  await bob.getByRole('link', { name: 'Sharing' }).click();
  const row = bob.getByTestId('partner-with').filter({ hasText: ALICE.name });
  await Promise.all([
    bob.waitForResponse((r) => r.url().includes('/api/partners/') && r.request().method() === 'PUT' && r.ok()),
    row.getByLabel('Show in my timeline').check(),
  ]);
  const [partner] = await call(bob, 'GET', '/api/partners?direction=shared-with');
  assert.equal(partner.inTimeline, true);
  await row.getByRole('link', { name: `${ALICE.name}'s photos` }).click();
  await bob.getByRole('heading', { name: `${ALICE.name}'s photos` }).waitFor();
  await count(bob, FILES.length).waitFor();
  await bob.locator('.tile img').first().evaluate((img) => img.decode());
  await screenshot(bob, '45-partner-timeline');
  // Looking, not changing: the viewer has no favourite or trash buttons.
  await bob.getByTestId('tile').first().locator('button.open').click();
  const viewer = bob.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByRole('button', { name: 'Info' }).waitFor();
  assert.equal(await viewer.getByRole('button', { name: 'Move to trash' }).count(), 0);
  await bob.keyboard.press('Escape');

  // Shown in Bob's own timeline: Alice's photos among his, to look at only.
  const aliceIds = (await call(alice, 'POST', '/api/search/metadata', { size: 10 })).assets.items.map((a) => a.id);
  const [bobId] = (await call(bob, 'POST', '/api/search/metadata', { size: 10 })).assets.items.map((a) => a.id);
  assert.equal(aliceIds.length, FILES.length);
  await bob.getByRole('link', { name: 'Photos', exact: true }).click();
  await count(bob, FILES.length + 1).waitFor();
  for (const id of [...aliceIds, bobId]) await bob.locator(`[data-asset-id="${id}"]`).waitFor();
  // Hers are marked with her name; his are not.
  for (const id of aliceIds) await bob.locator(`[data-asset-id="${id}"]`).getByTestId('tile-owner').filter({ hasText: ALICE.name }).waitFor();
  assert.equal(await bob.locator(`[data-asset-id="${bobId}"]`).getByTestId('tile-owner').count(), 0);
  await bob.locator('.tile img').first().evaluate((img) => img.decode());
  await screenshot(bob, '53-partner-in-my-timeline');

  const tile = (id) => bob.locator(`[data-asset-id="${id}"]`);
  const bar = bob.getByRole('toolbar', { name: 'Selected photos' });
  const ownerOnly = ['Favourite', 'Unfavourite', 'Archive', 'Add to album', 'Share link', 'Delete'];
  const offered = async () => (await Promise.all(ownerOnly.map((name) => bar.getByRole('button', { name, exact: true }).count()))).reduce((a, b) => a + b);
  await tile(aliceIds[0]).getByRole('checkbox').click();
  await bar.getByTestId('others-selected').filter({ hasText: 'Not your photo' }).waitFor();
  await bar.getByRole('button', { name: 'Download' }).waitFor();
  assert.equal(await offered(), 0, "no favourite, archive or delete for a partner's photo");
  // With one of his own in the selection too, he can narrow it to his.
  await tile(bobId).getByRole('checkbox').click();
  await bob.getByTestId('selection-count').filter({ hasText: '2 selected' }).waitFor();
  await bar.getByTestId('others-selected').filter({ hasText: '1 of them is not yours' }).waitFor();
  assert.equal(await offered(), 0);
  await screenshot(bob, '54-partner-mixed-selection');
  await bar.getByRole('button', { name: 'Select only mine' }).click();
  await bob.getByTestId('selection-count').filter({ hasText: '1 selected' }).waitFor();
  await bar.getByRole('button', { name: 'Delete' }).waitFor();
  await bar.getByRole('button', { name: 'Favourite', exact: true }).waitFor();
  assert.equal(await bar.getByTestId('others-selected').count(), 0);
  await bob.getByRole('button', { name: 'Clear selection' }).click();

  // The viewer offers changes on his own photo, not on hers.
  await tile(aliceIds[0]).locator('button.open').click();
  await viewer.getByRole('button', { name: 'Info' }).waitFor();
  await viewer.getByRole('link', { name: 'Download original' }).waitFor();
  // Once the photo's details are in, the buttons show whose it is.
  await viewer.getByRole('img', { name: /\.jpg$/ }).waitFor();
  assert.equal(await viewer.getByRole('button', { name: 'Move to trash' }).count(), 0);
  assert.equal(await viewer.getByRole('button', { name: 'Add to favourites' }).count(), 0);
  await bob.keyboard.press('Escape');
  await tile(bobId).locator('button.open').click();
  await viewer.getByRole('button', { name: 'Move to trash' }).waitFor();
  await bob.keyboard.press('Escape');

  alice.once('dialog', (d) => d.accept());
  await alice.getByTestId('partner-by').filter({ hasText: BOB.email }).getByRole('button', { name: 'Stop sharing' }).click();
  await alice.getByText('Nobody yet.').waitFor();
  await bob.goto(`/#/partners/${partner.id}`);
  await bob.getByRole('heading', { name: 'Not shared with you' }).waitFor();
  // And her photos leave his timeline with it.
  await bob.getByRole('link', { name: 'Photos', exact: true }).click();
  await count(bob, 1).waitFor();
  const denied = await bob.request.get(`/api/timeline/buckets?userId=${partner.id}`);
  assert.equal(denied.ok(), false);
  current = alice;
});

step('a user who is not an admin shares an album through the people picker', async () => {
  const carol = await logIn(CAROL);
  const [sony] = (await call(carol, 'POST', '/api/search/metadata', { size: 10 })).assets.items;
  const trip = await call(carol, 'POST', '/api/albums', { albumName: 'Carol trip', assetIds: [sony.id] });
  await carol.goto(`/#/albums/${trip.id}`);
  await carol.getByRole('heading', { name: 'Carol trip' }).waitFor();
  await carol.getByRole('button', { name: 'Share', exact: true }).click();
  const dialog = carol.getByRole('dialog', { name: 'Share “Carol trip”' });
  // Everyone else on the box is offered, the admin included; not Carol herself.
  const picker = dialog.getByLabel('Share with');
  await picker.locator('option', { hasText: BOB.email }).waitFor({ state: 'attached' });
  const options = await picker.locator('option:not([disabled])').allTextContents();
  assert.deepEqual(options.sort(), [`${ALICE.name} (${ALICE.email})`, `${BOB.name} (${BOB.email})`]);
  await picker.selectOption({ label: `${BOB.name} (${BOB.email})` });
  await dialog.getByLabel('Role', { exact: true }).selectOption('editor');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.getByTestId('album-member').filter({ hasText: BOB.email }).waitFor();
  await screenshot(carol, '55-album-shared-by-non-admin');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Her library too: the partner picker works for her as well.
  await carol.getByRole('link', { name: 'Sharing' }).click();
  await carol.getByLabel('Share my library with').selectOption({ label: `${BOB.name} (${BOB.email})` });
  await carol.getByRole('button', { name: 'Share my library' }).click();
  await carol.getByTestId('partner-by').filter({ hasText: BOB.email }).waitFor();
  assert.equal(await carol.getByText('administrator').count(), 0);

  await bob.getByRole('link', { name: 'Albums' }).click();
  const card = bob.getByRole('region', { name: 'Shared with me' }).getByTestId('album-card').filter({ hasText: 'Carol trip' });
  await card.filter({ hasText: `from ${CAROL.name}` }).click();
  await bob.getByTestId('album-role').filter({ hasText: `Shared by ${CAROL.name} · you can add photos` }).waitFor();
  await count(bob, 1).waitFor();
  current = alice;
});

step('an album link with a password and no downloads, opened without an account', async () => {
  await alice.goto(`/#/albums/${album.id}`);
  await alice.getByRole('button', { name: 'Share link' }).click();
  const dialog = alice.getByRole('dialog', { name: 'Share link to “Family”' });
  await dialog.getByLabel('Password (optional)').fill(LINK_PASSWORD);
  await dialog.getByLabel('Allow downloading originals').uncheck();
  await screenshot(alice, '46-share-link-dialog');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const url = await dialog.getByLabel('Link address').inputValue();
  assert.match(url, /#\/s\/.+/);
  albumLinkUrl = url;
  await dialog.getByRole('button', { name: 'Done' }).click();

  const guest = await visitor();
  await guest.goto(url);
  await guest.getByRole('heading', { name: 'This album is protected' }).waitFor();
  await guest.getByLabel('Password').fill('not it');
  await guest.getByRole('button', { name: 'Open' }).click();
  await guest.getByRole('alert').filter({ hasText: 'Wrong password' }).waitFor();
  await screenshot(guest, '47-link-password');
  await guest.getByLabel('Password').fill(LINK_PASSWORD);
  await guest.getByRole('button', { name: 'Open' }).click();
  await guest.getByRole('heading', { name: 'Family' }).waitFor();
  const inAlbum = (await call(alice, 'GET', `/api/albums/${album.id}`)).assets;
  await guest.getByTestId('shared-count').filter({ hasText: `${inAlbum.length} items` }).waitFor();
  assert.equal(await guest.locator('[data-asset-id]').count(), inAlbum.length);
  await guest.locator('[data-asset-id] img').first().evaluate((img) => img.decode());
  await screenshot(guest, '48-link-album');

  await guest.locator('[data-asset-id]').first().click();
  const viewer = guest.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByRole('button', { name: 'Info' }).waitFor();
  assert.equal(await viewer.getByRole('link', { name: 'Download original' }).count(), 0, 'downloads are off');
  const key = new URL(url).hash.replace('#/s/', '');
  assert.equal((await guest.request.get(`/api/assets/${inAlbum[0].id}/original?key=${key}`)).status(), 403);
  await guest.keyboard.press('Escape');
  // The visitor sees nothing else: not the owner's library, not the owner's account.
  assert.equal((await guest.request.get('/api/timeline/buckets')).status(), 401);

  // Expired: the link's page says so instead of showing the photos.
  const [link] = await call(alice, 'GET', '/api/shared-links');
  await call(alice, 'PATCH', `/api/shared-links/${link.id}`, { expiresAt: '2020-01-01T00:00:00.000Z' });
  await guest.reload();
  await guest.getByRole('heading', { name: 'This link cannot be opened' }).waitFor();
  await guest.getByRole('alert').filter({ hasText: 'expired' }).waitFor();
  await screenshot(guest, '49-link-expired');

  await alice.getByRole('link', { name: 'Shared links' }).click();
  await alice.getByTestId('shared-link').filter({ hasText: 'Album “Family”' }).filter({ hasText: 'Expired' }).waitFor();

  // The album list marks the album that has a link.
  await alice.getByRole('link', { name: 'Albums' }).click();
  await alice.getByTestId('album-card').filter({ hasText: 'Family' }).getByTestId('album-link-marker').waitFor();
  await alice.getByTestId('album-card').locator('img').first().evaluate((img) => img.decode());
  await screenshot(alice, '56-albums-link-marker');
  current = alice;
});

step("editing a link's password and expiry: the old password stops working", async () => {
  const NEW_PASSWORD = 'a different sesame';
  await alice.getByRole('link', { name: 'Shared links' }).click();
  const row = alice.getByTestId('shared-link').filter({ hasText: 'Album “Family”' });
  await row.getByRole('button', { name: 'Edit' }).click();
  const dialog = alice.getByRole('dialog', { name: 'Edit link to Album “Family”' });
  // The form starts from the link's settings: expired in 2020, no downloads.
  assert.match(await dialog.getByLabel('Expires (optional)').inputValue(), /^20(19|20)-/);
  assert.equal(await dialog.getByLabel('Allow downloading originals').isChecked(), false);
  await dialog.getByLabel('New password (empty keeps the current one)').fill(NEW_PASSWORD);
  await dialog.getByLabel('Expires (optional)').fill('');
  await screenshot(alice, '57-edit-link-dialog');
  await Promise.all([
    alice.waitForResponse((r) => r.url().includes('/api/shared-links/') && r.request().method() === 'PATCH' && r.ok()),
    dialog.getByRole('button', { name: 'Save' }).click(),
  ]);
  await dialog.waitFor({ state: 'detached' });
  // The list shows the link as open again (no expiry), still with a password.
  await row.filter({ hasText: 'password' }).filter({ hasNotText: 'Expire' }).waitFor();
  await screenshot(alice, '58-shared-links-edited');

  const guest = await visitor();
  await guest.goto(albumLinkUrl);
  await guest.getByRole('heading', { name: 'This album is protected' }).waitFor();
  await guest.getByLabel('Password').fill(LINK_PASSWORD);
  await guest.getByRole('button', { name: 'Open' }).click();
  await guest.getByRole('alert').filter({ hasText: 'Wrong password' }).waitFor();
  await guest.getByLabel('Password').fill(NEW_PASSWORD);
  await guest.getByRole('button', { name: 'Open' }).click();
  await guest.getByRole('heading', { name: 'Family' }).waitFor();

  // "No password" takes it off: a new visitor goes straight in.
  await row.getByRole('button', { name: 'Edit' }).click();
  await dialog.getByLabel('No password').check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await row.filter({ hasNotText: 'password' }).waitFor();
  const open = await visitor();
  await open.goto(albumLinkUrl);
  await open.getByRole('heading', { name: 'Family' }).waitFor();
  current = alice;
});

step('a link to chosen photos shows only those, and can be deleted', async () => {
  await alice.getByRole('link', { name: 'Photos', exact: true }).click();
  await count(alice, FILES.length).waitFor();
  const chosen = await alice.getByTestId('tile').first().getAttribute('data-asset-id');
  await alice.locator(`[data-asset-id="${chosen}"]`).getByRole('checkbox').click();
  await alice.getByRole('button', { name: 'Share link' }).click();
  const dialog = alice.getByRole('dialog', { name: 'Share link to 1 photo' });
  await dialog.getByLabel('Show camera details and place').uncheck();
  await dialog.getByLabel('Custom address (optional)').fill('one-photo');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const url = await dialog.getByLabel('Link address').inputValue();
  assert.equal(url, `${server.url}/#/share/one-photo`, 'a link with a custom address is given out by it');
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await dialog.getByRole('button', { name: 'Copied' }).waitFor();
  await dialog.getByRole('button', { name: 'Done' }).click();

  const guest = await visitor();
  await guest.goto(url);
  await guest.getByRole('heading', { name: 'Shared photos' }).waitFor();
  assert.deepEqual(await guest.locator('[data-asset-id]').evaluateAll((tiles) => tiles.map((t) => t.dataset.assetId)), [chosen]);
  await guest.locator('[data-asset-id]').click();
  const viewer = guest.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByRole('link', { name: 'Download original' }).waitFor();
  assert.equal(await viewer.getByRole('button', { name: 'Info' }).count(), 0, 'no details when metadata is hidden');
  await guest.keyboard.press('Escape');

  await alice.getByRole('link', { name: 'Shared links' }).click();
  const row = alice.getByTestId('shared-link').filter({ hasText: '1 photo' });
  await row.waitFor();
  await screenshot(alice, '50-shared-links');
  alice.once('dialog', (d) => d.accept());
  await row.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  await guest.reload();
  await guest.getByRole('heading', { name: 'This link cannot be opened' }).waitFor();
  current = alice;
});

step('the map shows the geotagged photo and opens it', async () => {
  const markers = await call(alice, 'GET', '/api/map/markers');
  const gps = markers.find((m) => m.lat && m.lon);
  assert.ok(gps, 'GPS.jpg has a marker');
  await alice.getByRole('link', { name: 'Map' }).click();
  await alice.getByTestId('marker-count').filter({ hasText: `${markers.length} photo` }).waitFor();
  await screenshot(alice, '51-map');
  const marker = alice.getByTestId('map-marker').first();
  // Clicking a numbered group zooms in until the photo itself is one dot.
  for (let i = 0; i < 12 && (await marker.textContent()) !== ''; i++) await marker.click();
  await marker.click();
  const viewer = alice.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByText('GPS.jpg', { exact: true }).waitFor();
  await viewer.getByRole('img', { name: 'GPS.jpg' }).evaluate((img) => img.decode());
  await viewer.getByRole('button', { name: 'Info' }).click();
  await viewer.getByRole('group', { name: 'Where it was taken' }).waitFor();
  await screenshot(alice, '52-viewer-small-map');
  await alice.keyboard.press('Escape');
});
