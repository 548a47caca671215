// The appliance wizard's library step, where disks are chosen and pooled.
// First with the storage routes stood in by the browser, for what the real
// service cannot be made to do on demand: a refusal, and a box that does
// not come back before the deadline. Then, as root, with the real
// shoebox-storaged on two loop disks (one holding a file system): the
// wizard pools them as RAID1, the server moves the library onto the pool
// and is started again by this test, as systemd would, and the wizard goes
// on by itself, still logged in.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserSession, call, newPage, photos, screenshot, startServer, TIMEOUT } from './harness.mjs';
import { needsRoot, run, startStorageService } from './storage-service.mjs';

const ADMIN = { name: 'Admin', email: 'admin@example.com', password: 'correct horse battery' };
const PHOTO = 'GPS.jpg';
const MOVING = 'Moving the library onto the new disks… the box restarts.';

const session = browserSession();
const step = session.step;

/** The config file of an appliance whose storage service is on `bus`. */
async function applianceConfig(dir, bus) {
  const config = join(dir, 'shoebox.toml');
  await writeFile(config, `appliance = true\nstorage_bus = ${JSON.stringify(bus)}\n`);
  return config;
}

/** From the wizard's name step to its library step. */
async function toLibraryStep(page) {
  await page.getByLabel('Name', { exact: true }).fill('attic');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: 'Time zone' }).waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { name: 'Where the library lives' }).waitFor();
}

/** The row of one disk, and its checkbox; `/dev/loop1` must not match `/dev/loop10`. */
function diskRow(page, path) {
  const row = page.getByTestId('pool-disk').filter({ has: page.locator('code', { hasText: new RegExp(`^${path}$`) }) });
  return { row, checkbox: row.getByRole('checkbox') };
}

describe('with the storage routes stood in', () => {
  const SYSTEM = { path: '/dev/mmcblk0', model: '', serial: '0x1', sizeBytes: 31914983424, transport: '', blank: false, system: true, inPool: false, smart: '' };
  const BLANK = { path: '/dev/sda', model: 'WDC WD40EFRX', serial: 'WD-1', sizeBytes: 4000787030016, transport: 'usb', blank: true, system: false, inPool: false, smart: 'passed' };
  const USED = { path: '/dev/sdb', model: 'ST2000', serial: 'Z1', sizeBytes: 2000398934016, transport: 'sata', blank: false, system: false, inPool: false, smart: 'passed' };
  const ERASES = ['/dev/sdb (ST2000, 2000398934016 bytes)'];
  const NO_POOL = { present: false, uuid: '', mounted: false, degraded: false, dataProfile: '', metadataProfile: '', sizeBytes: 0, usedBytes: 0, devices: [], scrub: { state: 'never', started: '', errors: 0, corrected: 0 }, activity: '', lastError: '' };

  const madePool = (disks) => ({
    ...NO_POOL,
    present: true,
    mounted: true,
    dataProfile: 'single',
    metadataProfile: 'dup',
    sizeBytes: disks.reduce((sum, d) => sum + d.sizeBytes, 0),
    devices: disks.map((d, i) => ({ devid: i + 1, path: d.path, sizeBytes: d.sizeBytes, missing: false, errors: 0 })),
  });

  let dir;
  let server;
  let page;
  /** What the stand-in service answers and what it was asked. */
  const service = { pool: NO_POOL, plans: 0, creations: [], refuseNext: false, down: false };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoebox-web-e2e-pool-stand-in-'));
    const config = await applianceConfig(dir, `unix:path=${join(dir, 'no-such-bus')}`);
    server = await startServer('pool-wizard-stand-in', { args: ['--config', config] });
    page = await newPage(session.browser, server);
    session.current = page;
    // The account exists already: the wizard resumes at the name step.
    await call(page, 'POST', '/api/auth/admin-sign-up', ADMIN);
    await call(page, 'POST', '/api/auth/login', { email: ADMIN.email, password: ADMIN.password });

    const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
    await page.route('**/api/shoebox/storage/disks', (route) => json(route, 200, [SYSTEM, BLANK, USED]));
    await page.route('**/api/shoebox/storage/pool/plan', (route) => {
      const erases = route.request().postDataJSON().disks.includes(USED.path) ? ERASES : [];
      return json(route, 200, { token: `plan-${++service.plans}`, erases });
    });
    await page.route('**/api/shoebox/storage/pool', (route) => {
      if (route.request().method() === 'GET') return json(route, 200, service.pool);
      service.creations.push(route.request().postDataJSON());
      if (service.refuseNext) {
        service.refuseNext = false;
        return json(route, 400, { message: '/dev/sdb is busy: unmount it first', statusCode: 400, error: 'Bad Request' });
      }
      service.down = true;
      return json(route, 202, { restarting: true });
    });
    // A server that went down for its restart refuses connections.
    await page.route('**/api/server/ping', (route) => (service.down ? route.abort('connectionrefused') : route.continue()));
    // The page's clock, so two minutes of waiting for the box pass at once.
    await page.clock.install();
    await page.goto('/');
  });

  after(async () => {
    await page?.context().close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  step('the disks are listed: the system disk not selectable, the one with data marked', async () => {
    await toLibraryStep(page);
    const system = diskRow(page, SYSTEM.path);
    await system.row.filter({ hasText: 'System disk: the box runs from it, never part of the pool' }).waitFor();
    assert.equal(await system.checkbox.isDisabled(), true, 'the system disk cannot be chosen');
    await diskRow(page, BLANK.path).row.filter({ hasText: 'Blank' }).waitFor();
    const used = diskRow(page, USED.path);
    await used.row.filter({ hasText: 'Holds data: will be erased' }).waitFor();
    assert.equal(await used.checkbox.isEnabled(), true, 'a disk with data may be chosen');
    await page.getByRole('button', { name: 'Skip' }).waitFor();
  });

  step('one disk is single; a second one offers mirroring, chosen by default, with half the space', async () => {
    // By keyboard: Space ticks the focused box.
    await diskRow(page, BLANK.path).checkbox.focus();
    await page.keyboard.press('Space');
    await page.getByTestId('usable-space').filter({ hasText: 'About 3.6 TiB for photos and videos. One copy of each file' }).waitFor();
    assert.equal(await page.getByRole('radio').count(), 0, 'one disk: nothing to choose');

    await diskRow(page, USED.path).checkbox.check();
    const mirrored = page.getByRole('radio', { name: 'Mirrored (RAID1): every photo is kept on two disks' });
    assert.equal(await mirrored.isChecked(), true, 'mirrored is the default for two disks');
    // The larger disk's excess has no partner: the smaller one's size.
    await page.getByTestId('usable-space').filter({ hasText: 'About 1.8 TiB for photos and videos. Each file is on two disks' }).waitFor();
    await screenshot(page, '70-pool-wizard-stand-in-choice');
  });

  step('erasing needs a confirmation that lists the plan; Escape cancels it', async () => {
    await page.getByRole('button', { name: 'Create the pool' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Erase these disks?' });
    await dialog.getByText('These disks hold data that will be erased:').waitFor();
    assert.deepEqual(await dialog.getByTestId('erases').getByRole('listitem').allTextContents(), ERASES);
    assert.equal(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((b) => b === document.activeElement), true, 'Cancel has the focus');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(service.creations.length, 0, 'nothing was created');
    await page.getByRole('heading', { name: 'Where the library lives' }).waitFor();
  });

  step("a refusal shows the server's message beside the button, and the step stays", async () => {
    service.refuseNext = true;
    await page.getByRole('button', { name: 'Create the pool' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Erase and create the pool' }).click();
    await page.getByRole('alert').filter({ hasText: '/dev/sdb is busy: unmount it first' }).waitFor();
    await page.getByRole('button', { name: 'Create the pool' }).waitFor();
    // The second plan's token, for the disks and profile it was made for.
    assert.deepEqual(service.creations, [{ disks: [BLANK.path, USED.path], profile: 'raid1', token: 'plan-2' }]);
  });

  step('a box that does not come back in time: the error, then Try again goes on', async () => {
    await page.getByRole('radio', { name: /^Single/ }).check();
    await page.getByTestId('usable-space').filter({ hasText: 'About 5.5 TiB' }).waitFor();
    await page.getByRole('button', { name: 'Create the pool' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Erase and create the pool' }).click();
    await page.getByRole('status').filter({ hasText: MOVING }).waitFor();
    await screenshot(page, '71-pool-wizard-stand-in-moving');
    assert.deepEqual(service.creations.at(-1), { disks: [BLANK.path, USED.path], profile: 'single', token: 'plan-3' });

    await page.clock.fastForward('02:01');
    const late = page.getByRole('alert').filter({ hasText: 'The box has not come back after 2 minutes' });
    await late.waitFor();
    await screenshot(page, '72-pool-wizard-stand-in-late');

    service.down = false;
    service.pool = madePool([BLANK, USED]);
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: 'Off-site backup (optional)' }).waitFor();
    // Back to the library step: the pool is made, nothing more to choose.
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByTestId('pool-made').filter({ hasText: 'The library lives on the storage pool: 2 disks, one copy of each file, 5.5 TiB.' }).waitFor();
    assert.equal(await page.getByRole('checkbox').count(), 0);
  });

  step('blank disks need no confirmation, and the wizard goes on by itself once the box is back', async () => {
    // As if the pool had gone: the step offers the disks again.
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: 'Off-site backup (optional)' }).waitFor();
    service.pool = NO_POOL;
    await page.getByRole('button', { name: 'Back' }).click();
    await diskRow(page, BLANK.path).checkbox.check();
    await page.getByRole('button', { name: 'Create the pool' }).click();
    await page.getByRole('status').filter({ hasText: MOVING }).waitFor();
    assert.equal(await page.getByRole('alertdialog').count(), 0, 'nothing to confirm');
    // The plan's token goes along, though nothing needs confirming.
    assert.deepEqual(service.creations.at(-1), { disks: [BLANK.path], profile: 'single', token: 'plan-4' });

    service.pool = madePool([BLANK]);
    service.down = false;
    await page.getByRole('heading', { name: 'Off-site backup (optional)' }).waitFor();
  });
});

describe('with the real storage service', { skip: needsRoot }, () => {
  let storage;
  let blankDisk;
  let usedDisk;
  let dataDir;
  let server;
  let page;

  before(async () => {
    storage = await startStorageService('pool-wizard');
    // Made by shoeboxd as a plain folder; storaged mounts the pool over it.
    dataDir = storage.dataDir;
    blankDisk = await storage.attachDisk('blank.img');
    usedDisk = await storage.attachDisk('used.img');
    // Someone's file system: creating the pool must ask before erasing it.
    await run('mkfs.btrfs', ['-q', usedDisk]);
    const config = await applianceConfig(storage.dir, storage.address);
    server = await startServer('pool-wizard', { dataDir, args: ['--config', config], restartOnRequest: true });
    page = await newPage(session.browser, server);
    session.current = page;
  });

  // The server is stopped first, so nothing starts it again; the service
  // then leaves nothing mounted or attached.
  after(async () => {
    await page
      ?.context()
      .close()
      .catch(() => {});
    await server?.stop({ keepData: true }).catch(() => {});
    await storage?.stop();
  });

  step('the wizard pools both disks mirrored, after confirming the erase, and goes on once the box is back', async () => {
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
    await toLibraryStep(page);

    const blank = diskRow(page, blankDisk);
    const used = diskRow(page, usedDisk);
    await blank.row.filter({ hasText: 'Blank' }).waitFor();
    await used.row.filter({ hasText: 'Holds data: will be erased' }).waitFor();
    // The disk this machine runs from is listed too, and never offered.
    for (const system of await page.getByTestId('pool-disk').filter({ hasText: 'System disk' }).all()) {
      assert.equal(await system.getByRole('checkbox').isDisabled(), true, await system.textContent());
    }
    await blank.checkbox.check();
    await used.checkbox.check();
    assert.equal(await page.getByRole('radio', { name: /^Mirrored \(RAID1\)/ }).isChecked(), true);
    await page.getByTestId('usable-space').filter({ hasText: 'About 320.0 MiB for photos and videos. Each file is on two disks' }).waitFor();
    await screenshot(page, '73-pool-wizard-disks');

    await page.getByRole('button', { name: 'Create the pool' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Erase these disks?' });
    await dialog.getByText('These disks hold data that will be erased:').waitFor();
    const erases = await dialog.getByTestId('erases').getByRole('listitem').allTextContents();
    assert.equal(erases.length, 1, `only the formatted disk: ${erases}`);
    assert.ok(erases[0].startsWith(`${usedDisk} (`), erases[0]);
    await screenshot(page, '74-pool-wizard-erase');
    await dialog.getByRole('button', { name: 'Erase and create the pool' }).click();

    await page.getByRole('status').filter({ hasText: MOVING }).waitFor();
    await page.getByRole('heading', { name: 'Off-site backup (optional)' }).waitFor({ timeout: TIMEOUT * 3 });
    assert.equal(server.restarts, 1, 'the server stopped once to be started again on the pool');
  });

  step('the wizard finishes with the admin still logged in, and a photo uploaded lands on the pool', async () => {
    await page.getByRole('button', { name: 'Skip' }).click();
    await page.getByRole('button', { name: 'Open my library' }).click();
    await page.getByText('No photos yet').waitFor();
    assert.equal((await call(page, 'GET', '/api/users/me')).email, ADMIN.email, 'the session outlived the move');

    await page.getByTestId('upload-input').setInputFiles(join(photos, PHOTO));
    await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 1' }).waitFor();
    await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');
    await page.getByRole('button', { name: 'Close uploads' }).click();
    const id = await page.getByTestId('tile').getAttribute('data-asset-id');
    assert.equal((await call(page, 'GET', `/api/assets/${id}`)).originalFileName, PHOTO);
    await screenshot(page, '75-pool-wizard-library');

    const { stdout } = await run('findmnt', ['-n', '-o', 'FSTYPE', dataDir]);
    assert.equal(stdout.trim(), 'btrfs', 'the data folder is the pool');
    const originals = (await readdir(join(dataDir, 'library'), { recursive: true })).filter((f) => f.endsWith('.jpg'));
    assert.equal(originals.length, 1, `the original is on the pool: ${originals}`);
    const pool = await call(page, 'GET', '/api/shoebox/storage/pool');
    assert.deepEqual(
      { present: pool.present, mounted: pool.mounted, dataProfile: pool.dataProfile, devices: pool.devices.map((d) => d.path).sort() },
      { present: true, mounted: true, dataProfile: 'raid1', devices: [blankDisk, usedDisk].sort() },
    );
  });
});
