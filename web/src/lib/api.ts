import type {
  Album,
  AlbumWithAssets,
  Asset,
  Bucket,
  BucketAssets,
  Jobs,
  SearchResult,
  Setup,
  SetupChange,
  Status,
  Storage,
  User,
  Version,
} from './types';

/** An error response, carrying the server's own message (Immich's error JSON). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
let onUnauthorized: Listener = () => {};

/** Called on any 401, so an expired session sends the user to the login page. */
export function setUnauthorizedHandler(listener: Listener): void {
  onUnauthorized = listener;
}

/** For requests made outside `request` (uploads use XMLHttpRequest). */
export function reportUnauthorized(): void {
  onUnauthorized();
}

export async function errorMessage(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
    if (Array.isArray(body.message)) return body.message.join('; ');
  } catch {
    // Not JSON: a proxy's page or an empty body; fall through to the status.
  }
  return text.trim() || `${response.status} ${response.statusText}`;
}

interface Options {
  method?: string;
  body?: unknown;
  /** Login itself answers 401 for a wrong password; that is not an expired session. */
  quiet401?: boolean;
}

export async function request<T>(path: string, { method = 'GET', body, quiet401 = false }: Options = {}): Promise<T> {
  const response = await fetch(`/api${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    const message = await errorMessage(response);
    if (response.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(response.status, message);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const json = (body: unknown) => ({ body });
const query = (params: Record<string, string | boolean | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export const thumbnailUrl = (id: string) => `/api/assets/${id}/thumbnail`;
export const previewUrl = (id: string) => `/api/assets/${id}/thumbnail?size=preview`;
export const originalUrl = (id: string) => `/api/assets/${id}/original`;
export const videoUrl = (id: string) => `/api/assets/${id}/video/playback`;

/** Which assets a timeline shows; the same query the Immich web client sends. */
export interface TimelineFilter {
  albumId?: string;
  isFavorite?: boolean;
  isTrashed?: boolean;
  visibility?: 'archive';
}

export const api = {
  setup: () => request<Setup>('/shoebox/setup', { quiet401: true }),
  updateSetup: (change: SetupChange) => request<Setup>('/shoebox/setup', { method: 'PUT', ...json(change) }),

  signUpAdmin: (email: string, password: string, name: string) =>
    request<User>('/auth/admin-sign-up', { method: 'POST', ...json({ email, password, name }) }),
  login: (email: string, password: string) =>
    request<unknown>('/auth/login', { method: 'POST', quiet401: true, ...json({ email, password }) }),
  logout: () => request<unknown>('/auth/logout', { method: 'POST', quiet401: true }),
  me: () => request<User>('/users/me', { quiet401: true }),
  changePassword: (password: string, newPassword: string) =>
    request<User>('/auth/change-password', { method: 'POST', ...json({ password, newPassword, invalidateSessions: true }) }),

  buckets: (f: TimelineFilter) => request<Bucket[]>(`/timeline/buckets${query({ ...f })}`),
  bucket: (f: TimelineFilter, timeBucket: string) =>
    request<BucketAssets>(`/timeline/bucket${query({ ...f, timeBucket })}`),

  asset: (id: string) => request<Asset>(`/assets/${id}`),
  updateAssets: (ids: string[], change: { isFavorite?: boolean; visibility?: 'archive' | 'timeline' }) =>
    request<void>('/assets', { method: 'PUT', ...json({ ids, ...change }) }),
  trashAssets: (ids: string[]) => request<void>('/assets', { method: 'DELETE', ...json({ ids }) }),
  restoreAssets: (ids: string[]) => request<{ count: number }>('/trash/restore/assets', { method: 'POST', ...json({ ids }) }),
  emptyTrash: () => request<{ count: number }>('/trash/empty', { method: 'POST' }),
  waitIdle: (timeoutSeconds: number) =>
    request<{ idle: boolean }>(`/shoebox/jobs/wait-idle${query({ timeoutSeconds: String(timeoutSeconds) })}`),

  search: (filters: Record<string, string | boolean>) =>
    request<SearchResult>('/search/metadata', { method: 'POST', ...json({ ...filters, withExif: true, size: 250 }) }),

  albums: () => request<Album[]>('/albums'),
  album: (id: string) => request<AlbumWithAssets>(`/albums/${id}`),
  createAlbum: (albumName: string, assetIds: string[]) =>
    request<Album>('/albums', { method: 'POST', ...json({ albumName, assetIds }) }),
  renameAlbum: (id: string, albumName: string) => request<Album>(`/albums/${id}`, { method: 'PATCH', ...json({ albumName }) }),
  deleteAlbum: (id: string) => request<void>(`/albums/${id}`, { method: 'DELETE' }),
  addToAlbum: (id: string, ids: string[]) => request<unknown>(`/albums/${id}/assets`, { method: 'PUT', ...json({ ids }) }),
  removeFromAlbum: (id: string, ids: string[]) =>
    request<unknown>(`/albums/${id}/assets`, { method: 'DELETE', ...json({ ids }) }),

  users: () => request<User[]>('/admin/users'),
  createUser: (u: { email: string; name: string; password: string; quotaSizeInBytes: number | null }) =>
    request<User>('/admin/users', { method: 'POST', ...json(u) }),
  updateUser: (id: string, change: { password?: string; quotaSizeInBytes?: number | null }) =>
    request<User>(`/admin/users/${id}`, { method: 'PUT', ...json(change) }),
  jobs: () => request<Jobs>('/shoebox/jobs'),
  retryJobs: () => request<{ count: number }>('/shoebox/jobs/retry', { method: 'POST' }),
  status: () => request<Status>('/shoebox/status'),
  storage: () => request<Storage>('/server/storage'),
  version: () => request<Version>('/server/version'),
};
