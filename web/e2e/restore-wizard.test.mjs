// Restoring a library from its off-site backup through the setup wizard,
// and the storage page's restore drill. Without a storage service the
// wizard says a backup cannot be restored here and goes back to its first
// question. Then, as root, two boxes, each with the real shoebox-storaged
// on a private bus and a loop disk of its own, and a "USB disk" (an ext4
// loop disk) that goes from one to the other. The first has photos, two
// accounts and an album on its pool, backs up to the USB disk it finds,
// and passes a drill run from its storage page; then the disk is
// unplugged (unmounted). The second, a blank appliance, is restored in the
// browser: its pool made first (the server restarts on it), the backup
// found on the USB disk, a wrong key refused with the box left blank, a
// backup that goes bad between looking and restoring failing with nothing
// restored, then the good backup, after which the server restarts on the
// restored library and its login page takes the old admin to the same
// photos. Last, the backup on the USB disk is damaged: the first box's
// next drill fails, and the alert banner says so.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe } from 'node:test';
import { browserSession, call, newPage, photos, screenshot, signInNewAdmin, startServer, TIMEOUT } from './harness.mjs';
import { busctl, needsRoot, run, startStorageService } from './storage-service.mjs';

const ADMIN = { name: 'Alice Admin', email: 'alice@example.com', password: 'correct horse battery' };
const BOB = { name: 'Bob', email: 'bob@example.com', password: 'another long password' };
const PHOTOS = ['GPS.jpg', 'NikonD70.jpg', 'Canon.jpg'];
const ALBUM = 'Summer';
const MOVING = 'Moving the library onto the new disks… the box restarts.';
// The storage page is long: a tall window keeps each section's screenshot whole.
const VIEWPORT = { width: 1280, height: 1400 };

const session = browserSession();
const step = session.step;

/** The wizard's list of steps, and the one it is on. */
async function wizardSteps(page) {
  const list = page.getByRole('list', { name: 'Setup steps' });
  return {
    names: await list.getByRole('listitem').allTextContents(),
    current: await list.locator('[aria-current="step"]').textContent(),
  };
}

/** From the first question of a blank box's wizard into its restore path. */
async function chooseRestore(page) {
  await page.getByRole('heading', { name: 'New library or restore?' }).waitFor();
  await page.getByRole('radio', { name: 'Restore from a backup' }).check();
  await page.getByRole('button', { name: 'Next' }).click();
}

/** Gives the backup's location and key, and asks what it holds. */
async function lookAtBackup(page, repository, key) {
  await page.getByRole('heading', { name: 'Where is the backup?' }).waitFor();
  await page.getByLabel('Backup location').fill(repository);
  await page.getByLabel('Key from the emergency kit').fill(key);
  await page.getByRole('button', { name: 'Look at the backup' }).click();
}

/**
 * Asks `read` again, a quarter of a second after each answer, until `done`
 * accepts one; that answer. Bounded, so a stuck backup fails the test.
 */
async function until(what, read, done, timeout = TIMEOUT * 3) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeout / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every file under `dir`. */
async function filesUnder(dir) {
  const names = await readdir(dir, { recursive: true });
  const files = [];
  for (const name of names) if ((await stat(join(dir, name))).isFile()) files.push(join(dir, name));
  return files;
}

/** Damages the largest pack file of a restic repository in its middle, as a failing disk would. */
async function damageAPack(repository) {
  let largest = null;
  for (const file of await filesUnder(join(repository, 'data'))) {
    const { size } = await stat(file);
    if (!largest || size > largest.size) largest = { file, size };
  }
  assert.ok(largest, `${repository} holds pack files`);
  const bytes = await readFile(largest.file);
  const middle = Math.floor(bytes.length / 2);
  for (let i = middle; i < middle + 64; i++) bytes[i] ^= 0xff;
  await writeFile(largest.file, bytes);
}

describe('without a storage service', () => {
  let dir;
  let server;
  let page;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-restore-plain-'));
    // A bus where nothing listens answers like a plain install without the service, on any host.
    const config = join(dir, 'shoebox.toml');
    await writeFile(config, `storage_bus = ${JSON.stringify(`unix:path=${join(dir, 'no-such-bus')}`)}\n`);
    server = await startServer('restore-plain', { args: ['--config', config] });
    page = await newPage(session.browser, server);
    session.current = page;
  });

  after(async () => {
    await page?.context().close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  step('restore says why it cannot run here, and Back leads to a new library', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'New library or restore?' }).waitFor();
    assert.deepEqual(await wizardSteps(page), { names: ['Start', 'Account', 'Name', 'Time zone', 'Library', 'Backup', 'Phone app'], current: 'Start' });
    assert.equal(await page.getByRole('radio', { name: 'Start a new library' }).isChecked(), true, 'a new library is the default');
    await screenshot(page, '20-restore-start');

    await chooseRestore(page);
    await page.getByTestId('restore-absent').filter({ hasText: 'The storage service (shoebox-storaged) is not running here' }).waitFor();
    await page.getByText(`put the data folder ${server.dataDir} back`).waitFor();
    // Not the appliance: no pool step in the list.
    assert.deepEqual((await wizardSteps(page)).names, ['Start', 'Backup', 'Contents', 'Restore']);
    assert.equal(await page.getByRole('alert').count(), 0, 'not an error: there is nothing to restore with');

    await page.getByRole('button', { name: 'Back' }).click();
    assert.equal(await page.getByRole('radio', { name: 'Restore from a backup' }).isChecked(), true, 'the answer is kept');
    await page.getByRole('radio', { name: 'Start a new library' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: 'Create the admin account' }).waitFor();
    assert.deepEqual(await wizardSteps(page), { names: ['Start', 'Account', 'Name', 'Time zone', 'Library', 'Backup', 'Phone app'], current: 'Account' });
    // Until the account exists, the first question is one step back.
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('heading', { name: 'New library or restore?' }).waitFor();
  });
});

describe('with the real storage service', { skip: needsRoot }, () => {
  /** Where the copy that goes bad is kept. */
  let usb;
  /** The USB disk (an ext4 loop disk), and the backup on it as each box names it. */
  let usbDisk;
  let repository;
  let repositoryOnTwo;
  /** A copy of the repository that goes bad between looking at it and restoring it. */
  let copy;
  let key;
  let one;
  let two;
  let twoDisk;
  let first;
  let second;
  let page1;
  let page2;
  let photoIds;

  before(async () => {
    usb = await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-restore-usb-'));
    copy = join(usb, 'copy');

    // The first box: its pool made before shoeboxd starts, as on its first boot.
    one = await startStorageService('restore-one');
    const oneDisk = await one.attachDisk('disk.img');
    await busctl(one.address, 'CreatePool', 'asss', '1', oneDisk, 'single', '');
    usbDisk = await one.attachDisk('usb.img');
    await run('mkfs.ext4', ['-q', '-L', 'HOLIDAYS', usbDisk]);
    const config1 = join(one.dir, 'shoebox.toml');
    await writeFile(config1, `storage_bus = ${JSON.stringify(one.address)}\n`);
    first = await startServer('restore-one', { dataDir: one.dataDir, args: ['--config', config1] });
    page1 = await newPage(session.browser, first, VIEWPORT);
    session.current = page1;
    await signInNewAdmin(page1, ADMIN);

    // The second box: a blank appliance with a blank disk and no pool yet;
    // the test starts shoeboxd again whenever it exits to restart, as systemd would.
    two = await startStorageService('restore-two');
    twoDisk = await two.attachDisk('disk.img');
    const config2 = join(two.dir, 'shoebox.toml');
    await writeFile(config2, `appliance = true\nstorage_bus = ${JSON.stringify(two.address)}\n`);
    second = await startServer('restore-two', { dataDir: two.dataDir, args: ['--config', config2], restartOnRequest: true });
    page2 = await newPage(session.browser, second);
  });

  // The servers are stopped first, so nothing starts them again; the
  // services then leave nothing mounted or attached.
  after(async () => {
    for (const page of [page1, page2]) {
      await page
        ?.context()
        .close()
        .catch(() => {});
    }
    await first?.stop({ keepData: true }).catch(() => {});
    await second?.stop({ keepData: true }).catch(() => {});
    await one?.stop();
    await two?.stop();
    if (usb) await rm(usb, { recursive: true, force: true });
  });

  step('the first box: photos, a second account and an album, backed up to the USB disk it finds', async () => {
    session.current = page1;
    await page1.goto('/');
    await page1.getByTestId('upload-input').setInputFiles(PHOTOS.map((name) => join(photos, name)));
    await page1.getByTestId('upload-panel').getByRole('heading', { name: `Uploaded ${PHOTOS.length}` }).waitFor();
    await call(page1, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');
    await page1.getByRole('button', { name: 'Close uploads' }).click();
    await page1.getByTestId('tile').nth(PHOTOS.length - 1).waitFor();
    photoIds = (await page1.getByTestId('tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.assetId))).sort();
    assert.equal(photoIds.length, PHOTOS.length);
    await call(page1, 'POST', '/api/admin/users', BOB);
    await call(page1, 'POST', '/api/albums', { albumName: ALBUM, assetIds: photoIds });

    // Nothing to drill before backups go somewhere.
    await page1.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage', exact: true }).click();
    await page1.getByText('Off-site backup is not set up yet').waitFor();
    assert.equal(await page1.getByRole('heading', { name: 'Restore drill' }).count(), 0, 'no drill without a backup');

    const disks = await call(page1, 'GET', '/api/shoebox/storage/backup-disks');
    assert.deepEqual(
      disks.map((d) => [d.path, d.label, d.fsType, d.repositories]),
      [[usbDisk, 'HOLIDAYS', 'ext4', []]],
      'the USB disk, and not the pool, holding no backup yet',
    );
    repository = disks[0].backupFolder;
    // The storage page offers the disk; picking it fills in its backup folder.
    await page1.getByRole('button', { name: 'Back up to HOLIDAYS' }).click();
    assert.equal(await page1.getByLabel('Repository').inputValue(), repository);
    await screenshot(page1, '20b-backup-to-usb-disk');
    ({ password: key } = await call(page1, 'PUT', '/api/shoebox/storage/backup', { repository }));
    await call(page1, 'POST', '/api/shoebox/storage/backup/run');
    const backup = await until(
      'the backup',
      () => call(page1, 'GET', '/api/shoebox/storage/backup'),
      (b) => !b.running && b.last,
    );
    assert.equal(backup.last.ok, true, JSON.stringify(backup.last));
    await run('cp', ['-a', repository, copy]);
  });

  step('a drill run from the storage page passes, on the schedule the admin set', async () => {
    await page1.reload();
    const drill = page1.getByRole('region', { name: 'Restore drill' });
    await drill.getByTestId('last-drill').filter({ hasText: 'No drill has run yet.' }).waitFor();
    await drill.getByTestId('next-drill').filter({ hasText: 'due now' }).waitFor();

    const days = drill.getByLabel('Days between drills');
    assert.equal(await days.inputValue(), '30', 'monthly unless changed');
    await days.fill('0');
    await drill.getByRole('button', { name: 'Save schedule' }).click();
    await drill.getByRole('alert').filter({ hasText: 'Give a whole number of days from 1 to 365' }).waitFor();
    await days.fill('7');
    await drill.getByRole('button', { name: 'Save schedule' }).click();
    await drill.getByRole('status').filter({ hasText: 'Saved: a drill every 7 days.' }).waitFor();
    assert.equal((await call(page1, 'GET', '/api/shoebox/storage/backup/drill')).everyDays, 7);

    await drill.getByRole('button', { name: 'Run a drill now' }).click();
    await drill
      .getByTestId('last-drill')
      .filter({ hasText: new RegExp(`Last drill passed .+: ${PHOTOS.length} files, [\\d.]+ [KM]?i?B, restored\\s+and checked from the backup of`, 's') })
      .waitFor({ timeout: TIMEOUT * 3 });
    await drill.getByRole('button', { name: 'Run a drill now' }).and(page1.locator(':enabled')).waitFor();
    const status = await call(page1, 'GET', '/api/shoebox/storage/backup/drill');
    assert.equal(status.last.ok, true, JSON.stringify(status.last));
    assert.equal(Date.parse(status.nextAt) - Date.parse(status.last.startedAt), 7 * 86_400_000, 'the next drill a week after this one');
    assert.equal(await drill.getByTestId('next-drill').filter({ hasText: 'due now' }).count(), 0, 'not due any more');
    await screenshot(page1, '21-restore-drill-passed');
    // Unplugged, to be carried to the new box.
    await run('umount', [dirname(repository)]);
  });

  step('the blank appliance asks for its pool first, then where the backup is', async () => {
    session.current = page2;
    await page2.goto('/');
    await chooseRestore(page2);
    await page2.getByRole('heading', { name: 'Where the library lives' }).waitFor();
    assert.deepEqual(await wizardSteps(page2), { names: ['Start', 'Library', 'Backup', 'Contents', 'Restore'], current: 'Library' });
    await page2.getByText('the backup is restored onto it').waitFor();
    const disk = page2.getByTestId('pool-disk').filter({ has: page2.locator('code', { hasText: new RegExp(`^${twoDisk}$`) }) });
    await disk.filter({ hasText: 'Blank' }).waitFor();
    assert.equal(await page2.getByRole('button', { name: 'Skip' }).count(), 0, 'a restore needs the pool');
    await screenshot(page2, '22-restore-pool');

    await disk.getByRole('checkbox').check();
    await page2.getByRole('button', { name: 'Create the pool' }).click();
    await page2.getByRole('status').filter({ hasText: MOVING }).waitFor();
    await page2.getByRole('heading', { name: 'Where is the backup?' }).waitFor({ timeout: TIMEOUT * 3 });
    assert.equal(second.restarts, 1, 'the server stopped once to be started again on the pool');
    // Still blank, so the wizard may ask without an account.
    const pool = await call(page2, 'GET', '/api/shoebox/storage/pool');
    assert.deepEqual({ present: pool.present, devices: pool.devices.map((d) => d.path) }, { present: true, devices: [twoDisk] });
  });

  step('the backup on the USB disk is found, and a wrong key is refused with the box left blank', async () => {
    const use = page2.getByRole('button', { name: 'Use the backup on HOLIDAYS' });
    await use.waitFor();
    await use.click();
    repositoryOnTwo = await page2.getByLabel('Backup location').inputValue();
    assert.match(repositoryOnTwo, /\/backup-disks\/[0-9a-f-]+\/shoebox-backup$/, 'its address on this box: by the file system, not the device');
    assert.equal(await use.getAttribute('aria-pressed'), 'true');
    await screenshot(page2, '22b-restore-usb-disk');
    await lookAtBackup(page2, repositoryOnTwo, 'not the key');
    await page2.getByRole('alert').filter({ hasText: 'does not open with this key: check it against the emergency kit' }).waitFor();
    await screenshot(page2, '23-restore-wrong-key');
    assert.equal((await call(page2, 'GET', '/api/shoebox/setup')).adminCreated, false);
    assert.equal((await call(page2, 'GET', '/api/shoebox/setup/restore')).state, 'idle', 'nothing was started');

    await page2.reload();
    await chooseRestore(page2);
    // The pool is there now: straight to the backup.
    await page2.getByRole('heading', { name: 'Where is the backup?' }).waitFor();
    assert.deepEqual(await wizardSteps(page2), { names: ['Start', 'Library', 'Backup', 'Contents', 'Restore'], current: 'Backup' });
  });

  step('a backup that goes bad between looking and restoring fails, and nothing is restored', async () => {
    await lookAtBackup(page2, copy, key);
    await page2.getByRole('heading', { name: 'What the backup holds' }).waitFor();
    const accounts = page2.getByRole('list', { name: 'Its 2 accounts' });
    assert.deepEqual(await accounts.getByRole('listitem').allTextContents(), [`${ADMIN.name} ${ADMIN.email}`, `${BOB.name} ${BOB.email}`]);
    await page2.getByTestId('backup-counts').filter({ hasText: /^3 photos, 0 videos, 1 album, 0 people$/ }).waitFor();
    await page2.getByTestId('backup-summary').filter({ hasText: /^The backup of .+, [\d.]+ [KM]?i?B:/ }).waitFor();
    await screenshot(page2, '24-restore-contents');
    assert.equal((await call(page2, 'GET', '/api/shoebox/setup')).adminCreated, false, 'looking restores nothing');

    await damageAPack(copy);
    await page2.getByRole('button', { name: 'Restore this library' }).click();
    const failed = page2.getByTestId('restore-failed');
    await failed.filter({ hasText: 'repository is damaged' }).waitFor({ timeout: TIMEOUT * 3 });
    await failed.filter({ hasText: 'Nothing was restored, and the box is still blank.' }).waitFor();
    await screenshot(page2, '25-restore-failed');
    assert.equal((await call(page2, 'GET', '/api/shoebox/setup')).adminCreated, false, 'the box is still blank');
    assert.equal(second.restarts, 1, 'no restart');

    await page2.getByRole('button', { name: 'Try again' }).click();
    await page2.getByRole('heading', { name: 'Where is the backup?' }).waitFor();
    assert.equal(await page2.getByLabel('Backup location').inputValue(), copy, 'what was given is kept');
  });

  step('the good backup is restored, and the box restarts on it to the login page', async () => {
    await lookAtBackup(page2, repositoryOnTwo, key);
    await page2.getByRole('heading', { name: 'What the backup holds' }).waitFor();
    await page2.getByRole('button', { name: 'Restore this library' }).click();
    await page2.getByRole('heading', { name: 'Restoring the library' }).waitFor();
    // The page reloads by itself once the server is back on the restored library.
    await page2.getByText('Log in to your photo library.').waitFor({ timeout: TIMEOUT * 3 });
    assert.equal(second.restarts, 2, 'the server started again on the restored library');

    await page2.getByLabel('Email').fill(ADMIN.email);
    await page2.getByLabel('Password').fill(ADMIN.password);
    await page2.getByRole('button', { name: 'Log in' }).click();
    await page2.getByRole('heading', { name: 'Photos', exact: true }).waitFor();
    await page2.getByTestId('tile').nth(PHOTOS.length - 1).waitFor();
    const ids = (await page2.getByTestId('tile').evaluateAll((tiles) => tiles.map((t) => t.dataset.assetId))).sort();
    assert.deepEqual(ids, photoIds, 'the same photos, under their own ids');
    await screenshot(page2, '26-restore-library');

    const albums = await call(page2, 'GET', '/api/albums');
    assert.deepEqual(
      albums.map((a) => [a.albumName, a.assetCount]),
      [[ALBUM, PHOTOS.length]],
    );
    const original = await page2.request.get(`/api/assets/${photoIds[0]}/original`);
    assert.equal(original.ok(), true, 'the original is there to download');
    const bob = await fetch(`${second.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: BOB.email, password: BOB.password }),
    });
    assert.equal(bob.ok, true, `the second account logs in with its old password: ${bob.status}`);
    const backup = await call(page2, 'GET', '/api/shoebox/storage/backup');
    assert.equal(backup.repository, repositoryOnTwo, 'the restored box backs up where it was restored from');
  });

  step('a drill of a damaged backup fails, and the alert banner says so', async () => {
    session.current = page1;
    // The disk is plugged into the second box now; the first mounts it again for its drill.
    await damageAPack(repositoryOnTwo);
    const drill = page1.getByRole('region', { name: 'Restore drill' });
    await drill.getByRole('button', { name: 'Run a drill now' }).click();
    await drill
      .getByTestId('last-drill')
      .filter({ hasText: 'Last drill failed' })
      .filter({ hasText: 'repository is damaged' })
      .waitFor({ timeout: TIMEOUT * 3 });
    await screenshot(page1, '27-restore-drill-failed');

    await page1.reload();
    await page1.getByTestId('alert-banner').getByRole('alert').filter({ hasText: 'Restore drill failed.' }).waitFor();
    const open = await call(page1, 'GET', '/api/shoebox/alerts');
    assert.ok(
      open.some((a) => a.key === 'backup:drill'),
      JSON.stringify(open),
    );
  });
});
