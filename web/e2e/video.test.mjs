// The admin's video page: the transcoding settings as the server keeps
// them, refused with the server's reason when they cannot be used, saved
// across a reload, and the engine in use with the reason a chosen hardware
// engine is not (this machine has no V4L2 encoder).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { call, launchBrowser, newPage, pageErrors, startServer, stepsWithScreenshots, signInNewAdmin } from './harness.mjs';

const ADMIN = { name: 'Vera Video', email: 'vera@example.com', password: 'correct horse battery' };

let server;
let browser;
let page;

before(async () => {
  server = await startServer('video');
  browser = await launchBrowser();
  page = await newPage(browser, server);
  await signInNewAdmin(page, ADMIN);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

const step = stepsWithScreenshots(() => page);
const crf = () => page.getByLabel('Quality (CRF, lower is better)', { exact: true });
const maxBitrate = () => page.getByLabel('Maximum bit rate (e.g. 8M, 0 for none)', { exact: true });
const engine = () => page.getByLabel('Video engine', { exact: true });

step("the video page shows Immich's defaults and the software engine", async () => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Video', exact: true }).click();
  await page.getByRole('heading', { name: 'Video', exact: true }).waitFor();
  assert.equal(await crf().inputValue(), '23');
  assert.equal(await page.getByLabel('Resolution', { exact: true }).inputValue(), '720');
  assert.equal(await page.getByLabel('Video codec', { exact: true }).inputValue(), 'h264');
  assert.ok(await page.getByRole('radio', { name: /^Only videos the apps cannot play/ }).isChecked());
  assert.ok(await page.getByRole('group', { name: 'Accepted video codecs' }).getByLabel('H.264', { exact: true }).isChecked());
  assert.equal(await engine().inputValue(), 'disabled');
  assert.match(await page.getByTestId('video-engine').textContent(), /runs on software\.\s*$/);
});

step('a setting the server cannot use is refused with its reason and nothing is saved', async () => {
  await crf().fill('28');
  await maxBitrate().fill('8 Mbit');
  await page.getByRole('button', { name: 'Save' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /maxBitrate/);
  const saved = await call(page, 'GET', '/api/shoebox/settings/video');
  assert.deepEqual([saved.crf, saved.maxBitrate], [23, '0']);
});

step('corrected settings are saved, survive a reload, and a missing engine says why', async () => {
  await maxBitrate().fill('8M');
  await engine().selectOption('v4l2');
  await page.getByRole('group', { name: 'Accepted video codecs' }).getByLabel('HEVC', { exact: true }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  assert.equal(await page.getByRole('alert').count(), 0);
  await page.getByTestId('video-engine').filter({ hasText: 'no V4L2 encoder device was found' }).waitFor();

  const saved = await call(page, 'GET', '/api/shoebox/settings/video');
  assert.deepEqual(
    [saved.crf, saved.maxBitrate, saved.accel, saved.acceptedVideoCodecs],
    [28, '8M', 'v4l2', ['h264', 'hevc']],
  );

  await page.reload();
  await page.getByRole('heading', { name: 'Video', exact: true }).waitFor();
  await crf().waitFor();
  assert.equal(await crf().inputValue(), '28');
  assert.equal(await engine().inputValue(), 'v4l2');
  assert.ok(await page.getByRole('group', { name: 'Accepted video codecs' }).getByLabel('HEVC', { exact: true }).isChecked());
});
