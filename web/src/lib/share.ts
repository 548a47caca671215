import type { SharedLink } from './types';

// Shared links open at `#/s/<key>` (or `#/share/<slug>` when the owner
// chose a readable name). These pages work without an account, so the
// app neither asks for a login nor runs the setup check on them.

/** The `key=…`/`slug=…` query a public page passes on every read; null elsewhere. */
export function linkQuery(path: string): string | null {
  for (const [prefix, name] of [
    ['/s/', 'key'],
    ['/share/', 'slug'],
  ] as const) {
    const value = path.startsWith(prefix) ? path.slice(prefix.length) : '';
    if (value) return `${name}=${encodeURIComponent(decodeURIComponent(value))}`;
  }
  return null;
}

/** The address to give out: by slug when there is one, as it reads better. */
export function linkUrl(link: Pick<SharedLink, 'key' | 'slug'>): string {
  const base = `${location.origin}${location.pathname}`;
  return link.slug ? `${base}#/share/${encodeURIComponent(link.slug)}` : `${base}#/s/${encodeURIComponent(link.key)}`;
}

export const isExpired = (link: Pick<SharedLink, 'expiresAt'>, now = Date.now()) =>
  link.expiresAt !== null && Date.parse(link.expiresAt) <= now;

/**
 * An instant as a `datetime-local` field's value: the reader's wall-clock
 * time to the minute, the inverse of `new Date(value)`.
 */
export function localInput(iso: string): string {
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}
