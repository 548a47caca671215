// Immich's derivative pipeline with sharp, for comparison with Shoebox's:
// one decode (rotated, shrunk to 1440 px on the short side, sRGB), then a
// 250 px WebP thumbnail and a 1440 px JPEG preview at quality 80 with
// 4:4:4 chroma, as immich's media.service.ts / media.repository.ts do.
//
//   node sharp-derivatives.mjs <corpus folder> <rounds> <concurrency>
//
// Prints one line in the same form as `shoebox-bench derivatives`.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const [corpus, rounds = '3', threads = '1'] = process.argv.slice(2);
const concurrency = Number(threads);
// libvips worker threads per image; photos are also processed `concurrency` at a time.
sharp.concurrency(concurrency);
sharp.cache(false);

const photos = (await readdir(corpus)).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => join(corpus, f));
const out = await mkdtemp(join(tmpdir(), 'sharp-bench-'));

const sizeOptions = (size) => [size, size, { fit: 'outside', withoutEnlargement: true }];

async function one(photo, worker) {
  const { data, info } = await sharp(photo, { failOn: 'error', limitInputPixels: false })
    .pipelineColorspace('srgb')
    .withIccProfile('srgb')
    .rotate()
    .resize(...sizeOptions(1440))
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  const fromDecoded = () => sharp(data, raw).pipelineColorspace('srgb').withIccProfile('srgb');
  await Promise.all([
    fromDecoded().resize(...sizeOptions(250)).webp({ quality: 80 }).toFile(join(out, `${worker}-thumb.webp`)),
    fromDecoded().resize(...sizeOptions(1440)).jpeg({ quality: 80, chromaSubsampling: '4:4:4' }).toFile(join(out, `${worker}-preview.jpeg`)),
  ]);
}

async function pass() {
  let next = 0;
  const worker = async (w) => {
    while (next < photos.length) await one(photos[next++], w);
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
}

await pass(); // warm-up, untimed
const start = process.hrtime.bigint();
for (let r = 0; r < Number(rounds); r++) await pass();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const rss = process.resourceUsage().maxRSS / 1024;
console.log(`sharp\tphotos=${photos.length}\tthreads=${concurrency}\timages_per_s=${((photos.length * Number(rounds)) / seconds).toFixed(2)}\tpeak_rss_mib=${rss.toFixed(1)}`);
await rm(out, { recursive: true, force: true });
