// The admin's video page: the transcoding settings as the server keeps
// them, refused with the server's reason when they cannot be used, saved
// across a reload, and the engine in use with the reason a chosen hardware
// engine is not (this machine has no V4L2 encoder). Then the viewer: a
// video starts with its poster and seeks, and a live photo plays its
// motion part.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A clip (or one frame of it) made by Debian's ffmpeg, as the bytes of `name`. */
async function made(name, args) {
  const dir = await mkdtemp(join(tmpdir(), 'shoebox-video-'));
  try {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=duration=3:size=320x240:rate=15', ...args, join(dir, name)]);
    return await readFile(join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function upload(name, mimeType, buffer, fields = {}) {
  const now = new Date().toISOString();
  const r = await page.request.post('/api/assets', {
    multipart: { assetData: { name, mimeType, buffer }, deviceAssetId: name, deviceId: 'e2e', fileCreatedAt: now, fileModifiedAt: now, ...fields },
  });
  assert.equal(r.status(), 201, await r.text());
  return (await r.json()).id;
}

/** Waits until the viewer's video can play at the current position. */
const playable = (video) => video.evaluate((v) => new Promise((ok) => (v.readyState >= 2 ? ok() : v.addEventListener('canplay', () => ok(), { once: true }))));

step('a video opens on its poster, plays and seeks; a live photo plays its motion part', async () => {
  const h264 = ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'];
  const video = await upload('walk.mp4', 'video/mp4', await made('walk.mp4', h264));
  const motion = await upload('IMG_0002.MOV', 'video/quicktime', await made('motion.mp4', ['-t', '2', ...h264]));
  const still = await upload('IMG_0002.JPG', 'image/jpeg', await made('still.jpg', ['-frames:v', '1']), { livePhotoVideoId: motion });
  await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=120');

  await page.goto('/');
  await page.locator(`[data-asset-id="${video}"] button.open`).click();
  const viewer = page.getByRole('dialog', { name: 'Photo viewer' });
  const player = viewer.locator('video');
  await player.waitFor();
  const poster = await player.getAttribute('poster');
  assert.match(poster ?? '', new RegExp(`/api/assets/${video}/thumbnail\\?size=preview`));
  const shown = await page.request.get(poster);
  assert.equal(shown.headers()['content-type'], 'image/jpeg', 'the poster is a real frame');
  await playable(player);
  // Seeking asks the server for a range of the file; the frame there plays.
  const at = await player.evaluate(
    (v) =>
      new Promise((ok) => {
        v.pause();
        v.addEventListener('seeked', () => ok(v.currentTime), { once: true });
        v.currentTime = 2;
      }),
  );
  assert.ok(Math.abs(at - 2) < 0.2, `seeked to ${at}`);
  await playable(player);
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });

  assert.equal(await page.locator(`[data-asset-id="${motion}"]`).count(), 0, 'the motion part is not a photo of its own');
  await page.locator(`[data-asset-id="${still}"] button.open`).click();
  await viewer.getByRole('img', { name: 'IMG_0002.JPG' }).waitFor();
  await viewer.getByRole('button', { name: 'Play the live photo' }).click();
  const live = viewer.locator('video.live');
  assert.match((await live.getAttribute('src')) ?? '', new RegExp(`/api/assets/${motion}/video/playback`));
  await playable(live);
  // When the motion part ends, the still is back.
  await live.waitFor({ state: 'detached', timeout: 30_000 });
  await viewer.getByRole('img', { name: 'IMG_0002.JPG' }).waitFor();
});
