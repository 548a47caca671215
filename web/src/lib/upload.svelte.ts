import { errorMessage, reportUnauthorized } from './api';
import type { UploadResult } from './types';

export type UploadState = 'queued' | 'uploading' | 'created' | 'duplicate' | 'error';

export interface UploadItem {
  key: number;
  file: File;
  state: UploadState;
  loaded: number;
  message: string | null;
}

// Two at a time keeps the connection busy without the server (and a small
// box's disk) juggling dozens of parallel streams.
const CONCURRENCY = 2;

let nextKey = 1;
const listeners = new Set<() => void>();

export const uploads = $state({ items: [] as UploadItem[], open: false });

/** Called once a batch is done, so views can show the new photos. */
export function onUploadsFinished(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function totals(): { loaded: number; total: number; done: number; count: number } {
  let loaded = 0;
  let total = 0;
  let done = 0;
  for (const item of uploads.items) {
    total += item.file.size;
    loaded += item.state === 'queued' ? 0 : item.state === 'uploading' ? item.loaded : item.file.size;
    if (item.state !== 'queued' && item.state !== 'uploading') done++;
  }
  return { loaded, total, done, count: uploads.items.length };
}

export function enqueue(files: Iterable<File>): void {
  for (const file of files) {
    uploads.items.push({ key: nextKey++, file, state: 'queued', loaded: 0, message: null });
  }
  uploads.open = true;
  pump();
}

export function clearFinished(): void {
  uploads.items = uploads.items.filter((i) => i.state === 'queued' || i.state === 'uploading');
}

function pump(): void {
  const active = uploads.items.filter((i) => i.state === 'uploading').length;
  const waiting = uploads.items.filter((i) => i.state === 'queued');
  for (const item of waiting.slice(0, Math.max(0, CONCURRENCY - active))) {
    item.state = 'uploading';
    send(item).finally(() => {
      pump();
      if (uploads.items.every((i) => i.state !== 'queued' && i.state !== 'uploading')) {
        for (const l of listeners) l();
      }
    });
  }
}

function send(item: UploadItem): Promise<void> {
  const form = new FormData();
  const modified = new Date(item.file.lastModified || Date.now()).toISOString();
  form.append('deviceAssetId', `web-${item.file.name}-${item.file.size}-${item.file.lastModified}`);
  form.append('deviceId', 'web');
  form.append('fileCreatedAt', modified);
  form.append('fileModifiedAt', modified);
  form.append('assetData', item.file, item.file.name);

  // XMLHttpRequest, not fetch: only it reports upload progress.
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/assets');
    xhr.upload.onprogress = (e) => {
      item.loaded = e.loaded * (item.file.size / Math.max(e.total, 1));
    };
    xhr.onload = async () => {
      if (xhr.status === 200 || xhr.status === 201) {
        const result = JSON.parse(xhr.responseText) as UploadResult;
        item.state = result.status === 'duplicate' ? 'duplicate' : 'created';
      } else {
        item.state = 'error';
        item.message = await errorMessage(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText }));
        if (xhr.status === 401) reportUnauthorized();
      }
      resolve();
    };
    xhr.onerror = () => {
      item.state = 'error';
      item.message = 'The connection to the server was lost';
      resolve();
    };
    xhr.send(form);
  });
}
