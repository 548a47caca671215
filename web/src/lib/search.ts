// What the search box looks in, shared by the box and the results page
// (which reads it back from the address, `#/search?q=…&in=…`).
import { api } from './api';
import type { Asset } from './types';

export const SEARCH_FIELDS = [
  { value: 'smart', label: 'What the photo shows', placeholder: 'Search by what is in the photo: “dog on a beach”…' },
  { value: '', label: 'File name or camera', placeholder: 'Search file name, camera, place…' },
  { value: 'description', label: 'Description', placeholder: 'Search descriptions…' },
  { value: 'ocr', label: 'Text in photo', placeholder: 'Search text in photos…' },
] as const;

export type SearchField = (typeof SEARCH_FIELDS)[number]['value'];

/** The field named in the address; anything else is the default. */
export const searchField = (name: string | null): SearchField => SEARCH_FIELDS.find((f) => f.value === name)?.value ?? '';

export const searchPath = (q: string, field: SearchField) =>
  `/search?q=${encodeURIComponent(q)}${field ? `&in=${field}` : ''}`;

/**
 * The assets matching `text`. By what they show: best match first. By
 * metadata, newest first: by default the server's
 * metadata search matches file names by substring, and camera make/model
 * and place (town, region, country) exactly: one query per field, merged. A description matches by
 * substring; text in photo needs every word somewhere in the photo's text.
 */
export async function searchAssets(text: string, field: SearchField): Promise<Asset[]> {
  if (field === 'smart') return (await api.smartSearch(text)).assets.items;
  const fields = field ? [field] : ['originalFileName', 'make', 'model', 'city', 'state', 'country'];
  const pages = await Promise.all(fields.map((f) => api.search({ [f]: text })));
  const byId = new Map<string, Asset>();
  for (const page of pages) for (const a of page.assets.items) byId.set(a.id, a);
  return [...byId.values()].sort((a, b) => b.fileCreatedAt.localeCompare(a.fileCreatedAt));
}
