import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` talks to a shoeboxd started separately (SHOEBOX_URL, default
// the standard port), so the UI can be worked on without rebuilding Rust.
const backend = process.env.SHOEBOX_URL ?? 'http://127.0.0.1:2283';

export default defineConfig({
  plugins: [svelte()],
  build: {
    target: 'es2022',
    // The server serves dist/ as-is; one small bundle beats many requests.
    cssCodeSplit: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: { '/api': { target: backend, changeOrigin: false } },
  },
});
