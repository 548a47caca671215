// The admin's Storage page in a real browser. Without a storage service it
// says calmly that the host manages its disks. With the real
// shoebox-storaged on a private bus, owning a btrfs pool on a loop device
// that is shoeboxd's data folder: the pool's health, a snapshot, a photo
// deleted for good and restored from it, and an off-site backup.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserSession, call, newPage, photos, screenshot, signInNewAdmin, startServer, TIMEOUT } from './harness.mjs';
import { busctl, needsRoot, startStorageService } from './storage-service.mjs';

const ADMIN = { name: 'Alice Admin', email: 'alice@example.com', password: 'correct horse battery' };
const PHOTO = 'GPS.jpg';
// The storage page is long: a tall window keeps each section's screenshot whole.
const VIEWPORT = { width: 1280, height: 1400 };

const session = browserSession();
const step = session.step;

/** The admin account and a finished setup, through the API; the Photos page open. */
async function signIn(server) {
  const page = await newPage(session.browser, server, VIEWPORT);
  session.current = page;
  await signInNewAdmin(page, ADMIN);
  await page.goto('/');
  await page.getByRole('heading', { name: 'Photos', exact: true }).waitFor();
  return page;
}

async function openStoragePage(page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage', exact: true }).click();
  await page.getByRole('heading', { name: 'Storage', exact: true }).waitFor();
}

describe('without a storage service', () => {
  let dir;
  let server;
  let page;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-storage-plain-'));
    // A bus where nothing listens answers like a plain install's system bus
    // without the service, on any host, even one that runs storaged.
    const config = join(dir, 'shoebox.toml');
    await writeFile(config, `storage_bus = ${JSON.stringify(`unix:path=${join(dir, 'no-such-bus')}`)}\n`);
    server = await startServer('storage-plain', { args: ['--config', config] });
    page = await signIn(server);
  });

  after(async () => {
    await page?.context().close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  step('the Storage page says the host manages disks, without errors', async () => {
    await openStoragePage(page);
    await page.getByRole('status').filter({ hasText: 'the host manages disks, pools and snapshots' }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'no error is shown');
    assert.equal(await page.locator('.error').count(), 0, 'nothing is styled as an error');
    assert.equal(await page.getByRole('heading', { name: 'Pool', exact: true }).count(), 0, 'no sections to fail');
    await screenshot(page, '60-storage-host-managed');
  });
});

describe('with the real storage service', { skip: needsRoot }, () => {
  let storage;
  let disk;
  let server;
  let page;
  let photoId;
  let snapshotName;

  before(async () => {
    // storaged makes the pool's mount point itself.
    storage = await startStorageService('storage');
    disk = await storage.attachDisk('disk.img');
    // As the appliance's first boot would: the pool exists before shoeboxd starts on it.
    await busctl(storage.address, 'CreatePool', 'asss', '1', disk, 'single', '');
    const config = join(storage.dir, 'shoebox.toml');
    await writeFile(config, `storage_bus = ${JSON.stringify(storage.address)}\n`);
    server = await startServer('storage', { dataDir: storage.dataDir, args: ['--config', config] });
    page = await signIn(server);
  });

  // The server is stopped first; the service then leaves nothing mounted or attached.
  after(async () => {
    await page
      ?.context()
      .close()
      .catch(() => {});
    await server?.stop({ keepData: true }).catch(() => {});
    await storage?.stop();
  });

  step('the pool is healthy, with its one disk, and a scrub finds no errors', async () => {
    await openStoragePage(page);
    const pool = page.getByTestId('pool');
    await pool.getByTestId('pool-health').filter({ hasText: 'Healthy' }).waitFor();
    await pool.getByTestId('pool-member').filter({ hasText: disk }).filter({ hasText: 'No errors' }).waitFor();
    assert.equal(await pool.getByTestId('pool-member').count(), 1);
    await pool.getByText('single (one copy)').waitFor();
    await pool.getByTestId('pool-space').filter({ hasText: /used of \d+(\.\d)? MiB/ }).waitFor();
    await page.getByTestId('disk-row').filter({ hasText: disk }).filter({ hasText: 'In the pool' }).waitFor();

    await pool.getByTestId('scrub').filter({ hasText: 'never been scrubbed' }).waitFor();
    await pool.getByRole('button', { name: 'Scrub now' }).click();
    await pool.getByTestId('scrub').filter({ hasText: /Last scrub started .+: finished,\s+no errors\./s }).waitFor();
    await pool.getByRole('button', { name: 'Scrub now' }).and(page.locator(':enabled')).waitFor();
    await screenshot(page, '61-storage-pool');
  });

  step('a snapshot taken on the page is listed, newest first', async () => {
    await page.getByRole('link', { name: 'Photos', exact: true }).click();
    await page.getByTestId('upload-input').setInputFiles(join(photos, PHOTO));
    await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 1' }).waitFor();
    await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');
    await page.getByRole('button', { name: 'Close uploads' }).click();
    photoId = await page.getByTestId('tile').getAttribute('data-asset-id');
    assert.ok(photoId);

    await openStoragePage(page);
    await page.getByText('No snapshots yet.').waitFor();
    await page.getByRole('button', { name: 'Take a snapshot now' }).click();
    const taken = page.getByRole('status').filter({ hasText: /^Snapshot \S+ taken\.$/ });
    await taken.waitFor();
    snapshotName = (await taken.textContent()).split(' ')[1];
    const newest = page.getByTestId('snapshot-row').first();
    await newest.filter({ hasText: snapshotName }).filter({ hasText: 'From this page' }).waitFor();
  });

  step('a photo deleted for good comes back from the snapshot', async () => {
    // Not the trash: gone from the catalog and the disk.
    await call(page, 'DELETE', '/api/assets', { ids: [photoId], force: true });
    assert.equal((await page.request.get(`/api/assets/${photoId}`)).ok(), false, 'the photo is gone');

    await page.reload();
    await page.getByRole('heading', { name: 'Storage', exact: true }).waitFor();
    await page.getByTestId('snapshot-row').filter({ hasText: snapshotName }).getByRole('button', { name: 'Show photos' }).click();
    const contents = page.getByRole('region', { name: `Photos in snapshot ${snapshotName}` });
    await contents.getByTestId('snapshot-summary').filter({ hasText: 'holds 1 item; 1 missing from the library' }).waitFor();
    const row = contents.locator(`[data-asset-id="${photoId}"]`);
    await row.filter({ hasText: PHOTO }).filter({ hasText: 'Missing' }).filter({ hasText: ADMIN.name }).waitFor();
    // By keyboard: Space ticks the box, Enter presses Restore.
    await row.getByRole('checkbox', { name: `Select ${PHOTO}` }).focus();
    await page.keyboard.press('Space');
    const restore = contents.getByRole('button', { name: 'Restore 1 selected' });
    await restore.waitFor();
    await restore.focus();
    await page.keyboard.press('Enter');
    await contents.getByRole('status').filter({ hasText: '1 restored.' }).waitFor();
    await row.getByTestId('restore-result').filter({ hasText: 'Restored' }).waitFor();
    // The list is read again: the photo is in the library once more.
    await row.filter({ hasText: 'In the library' }).waitFor();
    await screenshot(page, '62-storage-restored');

    await page.getByRole('link', { name: 'Photos', exact: true }).click();
    await page.locator(`[data-asset-id="${photoId}"]`).waitFor();
    assert.equal((await call(page, 'GET', `/api/assets/${photoId}`)).originalFileName, PHOTO, 'back under its own id');
  });

  step('an off-site backup to a folder: its key in an emergency kit shown once, a new key, then a backup that succeeds', async () => {
    await openStoragePage(page);
    await page.getByText('Off-site backup is not set up yet').waitFor();
    const repository = page.getByLabel('Repository');

    // The service's refusal is shown next to the form, in its words.
    await repository.fill('usb-disk');
    await page.getByRole('button', { name: 'Save backup target' }).click();
    await page.getByRole('form', { name: 'Where backups go' }).getByRole('alert').filter({ hasText: 'absolute folder' }).waitFor();

    const folder = join(storage.dir, 'usb-disk', 'backup');
    await repository.fill(folder);
    await page.getByLabel('Key (optional)').fill('');
    await page.getByRole('button', { name: 'Save backup target' }).click();
    const kit = page.getByRole('region', { name: 'Emergency kit' });
    await kit.waitFor();
    const key = await kit.getByLabel('Backup key', { exact: true }).inputValue();
    assert.match(key, /^[0-9a-f]{64}$/, 'a generated key');
    await kit.getByRole('button', { name: 'Copy' }).waitFor();
    await kit.getByRole('img', { name: 'The backup key as a QR code' }).waitFor();
    await kit.getByText(folder).first().waitFor();
    await kit.getByRole('button', { name: 'Print or save as PDF' }).waitFor();
    await page.getByTestId('backup-repository').filter({ hasText: folder }).waitFor();
    const keyId = await kit.getByTestId('kit-key-id').textContent();
    await screenshot(page, '63-storage-emergency-kit');
    // On paper, only the kit.
    await page.emulateMedia({ media: 'print' });
    await screenshot(page, '63-storage-emergency-kit-printed');
    assert.equal(await page.getByRole('button', { name: 'Back up now' }).isVisible(), false, 'the page around the kit is not printed');
    for (const part of [kit.getByRole('heading', { name: 'Emergency kit' }), kit.getByRole('img', { name: 'The backup key as a QR code' })]) {
      const box = await part.boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= VIEWPORT.height, `on the printed page: ${JSON.stringify(box)}`);
    }
    await page.emulateMedia({ media: 'screen' });
    await kit.getByRole('button', { name: 'I have kept the kit' }).click();
    await kit.waitFor({ state: 'detached' });
    await page.getByTestId('kit-status').filter({ hasText: `key fingerprint ${keyId}), kept since` }).waitFor();

    // A new key makes a new kit, to be kept again.
    await page.getByRole('button', { name: 'Make a new key and kit' }).click();
    await kit.waitFor();
    assert.notEqual(await kit.getByLabel('Backup key', { exact: true }).inputValue(), key, 'a new key');
    assert.notEqual(await kit.getByTestId('kit-key-id').textContent(), keyId);
    await page.getByTestId('kit-status').filter({ hasText: 'not confirmed as kept' }).waitFor();
    await kit.getByRole('button', { name: 'I have kept the kit' }).click();
    await kit.waitFor({ state: 'detached' });
    await page.getByTestId('kit-status').filter({ hasText: 'kept since' }).waitFor();

    await page.getByTestId('last-backup').filter({ hasText: 'No backup has run yet.' }).waitFor();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page
      .getByTestId('last-backup')
      .filter({ hasText: /Last backup succeeded .+: [1-9][\d,.]* files?,\s+\d/s })
      .waitFor({ timeout: TIMEOUT * 3 });
    await page.getByRole('button', { name: 'Back up now' }).and(page.locator(':enabled')).waitFor();
    // The backup read a snapshot of its own, which the list now shows.
    await page.getByTestId('snapshot-row').first().filter({ hasText: 'Before an off-site backup' }).waitFor();
    await screenshot(page, '64-storage-backed-up');
  });
});
