import type {
  Album,
  AlbumWithAssets,
  Alert,
  AlertDelivery,
  AppNotification,
  Asset,
  BackupContents,
  BackupStatus,
  BackupTarget,
  Bucket,
  BucketAssets,
  ChannelOutcome,
  BackupDisk,
  Disk,
  DrillStatus,
  Face,
  FacePerson,
  Jobs,
  Kit,
  MapMarker,
  MlTask,
  OcrLine,
  Partner,
  Person,
  Pool,
  PoolPlan,
  PoolProfile,
  Queue,
  RestoreResult,
  RestoreSource,
  RestoreStatus,
  SearchResult,
  ServerFeatures,
  SharedLink,
  SharedLinkChange,
  SharedLinkSettings,
  Setup,
  SetupChange,
  Snapshot,
  SnapshotAsset,
  Status,
  Storage,
  FoundModel,
  ModelFetch,
  UpdateSource,
  UpdateStatus,
  User,
  Version,
  VideoSettings,
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

/** What to show for a failed call: the server's message when there is one. */
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

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
  /** Gives up on the request (a probe that must not hang on a server going down). */
  signal?: AbortSignal;
}

export async function request<T>(path: string, { method = 'GET', body, quiet401 = false, signal }: Options = {}): Promise<T> {
  const response = await fetch(`/api${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal,
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

/**
 * `key=…` or `slug=…`: how a visitor of a shared link names it on every
 * read. Absent for a signed-in user, whose cookie is enough.
 */
export type LinkQuery = string | undefined;
const via = (url: string, link: LinkQuery) => (link ? `${url}${url.includes('?') ? '&' : '?'}${link}` : url);

export const thumbnailUrl = (id: string, link?: LinkQuery) => via(`/api/assets/${id}/thumbnail`, link);
export const previewUrl = (id: string, link?: LinkQuery) => via(`/api/assets/${id}/thumbnail?size=preview`, link);
export const originalUrl = (id: string, link?: LinkQuery) => via(`/api/assets/${id}/original`, link);
export const personThumbnailUrl = (id: string) => `/api/people/${id}/thumbnail`;
export const videoUrl = (id: string, link?: LinkQuery) => via(`/api/assets/${id}/video/playback`, link);

/** Which assets a timeline shows; the same query the Immich web client sends. */
export interface TimelineFilter {
  albumId?: string;
  isFavorite?: boolean;
  isTrashed?: boolean;
  visibility?: 'archive';
  /** A partner's timeline. */
  userId?: string;
  /** The main timeline with the partners the user chose to show in it. */
  withPartners?: boolean;
}

export const api = {
  setup: () => request<Setup>('/shoebox/setup', { quiet401: true }),
  updateSetup: (change: SetupChange) => request<Setup>('/shoebox/setup', { method: 'PUT', ...json(change) }),
  // Restoring a library onto a blank box: no account is needed until the
  // box has an admin, and then only admins may.
  /** What the newest backup holds; opening it with a wrong key is a 400 or 502 with the reason. */
  inspectBackup: (source: RestoreSource) =>
    request<BackupContents>('/shoebox/setup/restore/inspect', { method: 'POST', ...json(source) }),
  /** Answers 202 at once; the restore runs in the background (`restoreStatus`). */
  startRestore: (source: RestoreSource) => request<RestoreStatus>('/shoebox/setup/restore', { method: 'POST', ...json(source) }),
  /** A 401 means the box has an admin now (a restored one, say), not that a session expired. */
  restoreStatus: () => request<RestoreStatus>('/shoebox/setup/restore', { quiet401: true }),

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

  // A visitor's 401 means "password" or "expired", not "log in again".
  asset: (id: string, link?: LinkQuery) => request<Asset>(via(`/assets/${id}`, link), { quiet401: link !== undefined }),
  updateAssets: (ids: string[], change: { isFavorite?: boolean; visibility?: 'archive' | 'timeline' }) =>
    request<void>('/assets', { method: 'PUT', ...json({ ids, ...change }) }),
  /** The text and faces found in a photo: [] until its background jobs ran (or with machine learning off). */
  ocr: (id: string, link?: LinkQuery) => request<OcrLine[]>(via(`/assets/${id}/ocr`, link), { quiet401: link !== undefined }),
  faces: (id: string, link?: LinkQuery) => request<Face[]>(via(`/faces${query({ id })}`, link), { quiet401: link !== undefined }),
  trashAssets: (ids: string[]) => request<void>('/assets', { method: 'DELETE', ...json({ ids }) }),
  restoreAssets: (ids: string[]) => request<{ count: number }>('/trash/restore/assets', { method: 'POST', ...json({ ids }) }),
  emptyTrash: () => request<{ count: number }>('/trash/empty', { method: 'POST' }),
  waitIdle: (timeoutSeconds: number) =>
    request<{ idle: boolean }>(`/shoebox/jobs/wait-idle${query({ timeoutSeconds: String(timeoutSeconds) })}`),

  search: (filters: Record<string, string | boolean>) =>
    request<SearchResult>('/search/metadata', { method: 'POST', ...json({ ...filters, withExif: true, size: 250 }) }),
  peopleInPhotos: () => request<{ people: FacePerson[]; total: number; hidden: number }>('/people'),
  person: (id: string) => request<FacePerson>(`/people/${id}`),
  renamePerson: (id: string, name: string) => request<FacePerson>(`/people/${id}`, { method: 'PUT', ...json({ name }) }),
  /** The photos a person is in, newest first. */
  personAssets: (id: string) =>
    request<SearchResult>('/search/metadata', { method: 'POST', ...json({ personIds: [id], withExif: true, size: 250 }) }),
  /** Photos ranked by how well they show what `query` says (CLIP), best first. */
  smartSearch: (query: string) =>
    request<SearchResult>('/search/smart', { method: 'POST', ...json({ query, withExif: true, size: 100 }) }),

  /** The box's conditions that hold now (admins). */
  alerts: () => request<Alert[]>('/shoebox/alerts'),
  alertDelivery: () => request<AlertDelivery>('/shoebox/alerts/delivery'),
  setAlertDelivery: (delivery: AlertDelivery) =>
    request<AlertDelivery>('/shoebox/alerts/delivery', { method: 'PUT', ...json(delivery) }),
  testAlert: () => request<{ email: ChannelOutcome; webhook: ChannelOutcome }>('/shoebox/alerts/test', { method: 'POST' }),
  notifications: () => request<AppNotification[]>('/notifications'),
  markNotifications: (ids: string[], readAt: string | null) =>
    request<void>('/notifications', { method: 'PUT', ...json({ ids, readAt }) }),
  deleteNotifications: (ids: string[]) => request<void>('/notifications', { method: 'DELETE', ...json({ ids }) }),

  albums: () => request<Album[]>('/albums'),
  album: (id: string, link?: LinkQuery) => request<AlbumWithAssets>(via(`/albums/${id}`, link), { quiet401: link !== undefined }),
  createAlbum: (albumName: string, assetIds: string[]) =>
    request<Album>('/albums', { method: 'POST', ...json({ albumName, assetIds }) }),
  renameAlbum: (id: string, albumName: string) => request<Album>(`/albums/${id}`, { method: 'PATCH', ...json({ albumName }) }),
  deleteAlbum: (id: string) => request<void>(`/albums/${id}`, { method: 'DELETE' }),
  addToAlbum: (id: string, ids: string[]) => request<unknown>(`/albums/${id}/assets`, { method: 'PUT', ...json({ ids }) }),
  removeFromAlbum: (id: string, ids: string[]) =>
    request<unknown>(`/albums/${id}/assets`, { method: 'DELETE', ...json({ ids }) }),
  shareAlbum: (id: string, userId: string, role: 'editor' | 'viewer') =>
    request<Album>(`/albums/${id}/users`, { method: 'PUT', ...json({ albumUsers: [{ userId, role }] }) }),
  setAlbumRole: (id: string, userId: string, role: 'editor' | 'viewer') =>
    request<void>(`/albums/${id}/user/${userId}`, { method: 'PUT', ...json({ role }) }),
  /** The owner removes a member; a member leaves with `me`. */
  removeAlbumUser: (id: string, userId: string) => request<void>(`/albums/${id}/user/${userId}`, { method: 'DELETE' }),

  partners: (direction: 'shared-by' | 'shared-with') => request<Partner[]>(`/partners${query({ direction })}`),
  addPartner: (sharedWithId: string) => request<Partner>('/partners', { method: 'POST', ...json({ sharedWithId }) }),
  setPartnerInTimeline: (id: string, inTimeline: boolean) =>
    request<Partner>(`/partners/${id}`, { method: 'PUT', ...json({ inTimeline }) }),
  removePartner: (id: string) => request<void>(`/partners/${id}`, { method: 'DELETE' }),

  sharedLinks: () => request<SharedLink[]>('/shared-links'),
  createSharedLink: (target: { albumId: string } | { assetIds: string[] }, settings: SharedLinkSettings) =>
    request<SharedLink>('/shared-links', {
      method: 'POST',
      ...json({ type: 'albumId' in target ? 'ALBUM' : 'INDIVIDUAL', ...target, ...settings }),
    }),
  editSharedLink: (id: string, change: SharedLinkChange) =>
    request<SharedLink>(`/shared-links/${id}`, { method: 'PATCH', ...json(change) }),
  deleteSharedLink: (id: string) => request<void>(`/shared-links/${id}`, { method: 'DELETE' }),
  /** The link a visitor holds; 401 with the reason when it needs a password or has expired. */
  visitLink: (link: string) => request<SharedLink>(`/shared-links/me?${link}`, { quiet401: true }),
  unlockLink: (link: string, password: string) =>
    request<SharedLink>(`/shared-links/login?${link}`, { method: 'POST', quiet401: true, ...json({ password }) }),

  mapMarkers: () => request<MapMarker[]>('/map/markers'),

  /** Everyone on this box, as any signed-in user may see them (for sharing). */
  people: () => request<Person[]>('/users'),
  users: () => request<User[]>('/admin/users'),
  createUser: (u: { email: string; name: string; password: string; quotaSizeInBytes: number | null }) =>
    request<User>('/admin/users', { method: 'POST', ...json(u) }),
  updateUser: (id: string, change: { password?: string; name?: string; email?: string; quotaSizeInBytes?: number | null }) =>
    request<User>(`/admin/users/${id}`, { method: 'PUT', ...json(change) }),
  jobs: () => request<Jobs>('/shoebox/jobs'),
  queues: () => request<Queue[]>('/queues'),
  /** Queues the task for every photo it has not looked at yet; 409 with the reason when the task is off. */
  startJob: (name: MlTask) => request<unknown>(`/jobs/${name}`, { method: 'PUT', ...json({ command: 'start', force: false }) }),
  /** Pausing keeps a queue's jobs waiting (running ones finish), across restarts, until resumed. */
  pauseQueue: (name: string, pause: boolean) => request<unknown>(`/jobs/${name}`, { method: 'PUT', ...json({ command: pause ? 'pause' : 'resume' }) }),
  retryJobs: () => request<{ count: number }>('/shoebox/jobs/retry', { method: 'POST' }),
  status: () => request<Status>('/shoebox/status'),
  videoSettings: () => request<VideoSettings>('/shoebox/settings/video'),
  /** Saves the fields given; 400 with the reason when the server cannot use them. */
  updateVideoSettings: (change: Partial<VideoSettings>) =>
    request<VideoSettings>('/shoebox/settings/video', { method: 'PUT', ...json(change) }),
  storage: () => request<Storage>('/server/storage'),
  /** Answers whenever the server runs; no account needed. */
  ping: (signal?: AbortSignal) => request<{ res: string }>('/server/ping', { signal }),
  version: () => request<Version>('/server/version'),
  features: () => request<ServerFeatures>('/server/features'),

  // The storage service, through shoeboxd. Where none runs every call is a
  // 503 whose message says the host manages its disks.
  disks: () => request<Disk[]>('/shoebox/storage/disks'),
  /** File systems on disks outside the pool (USB disks), mounted by the box, with the backups on each. */
  backupDisks: () => request<BackupDisk[]>('/shoebox/storage/backup-disks'),
  pool: () => request<Pool>('/shoebox/storage/pool'),
  planPool: (disks: string[], profile: PoolProfile) =>
    request<PoolPlan>('/shoebox/storage/pool/plan', { method: 'POST', ...json({ disks, profile }) }),
  /**
   * Answers 202 once the library is on the new pool; the server then exits
   * for its service manager to start it again there.
   */
  createPool: (disks: string[], profile: PoolProfile, token: string) =>
    request<{ restarting: boolean }>('/shoebox/storage/pool', { method: 'POST', ...json({ disks, profile, token }) }),
  scrubPool: () => request<void>('/shoebox/storage/pool/scrub', { method: 'POST' }),
  snapshots: () => request<Snapshot[]>('/shoebox/storage/snapshots'),
  takeSnapshot: () => request<Snapshot>('/shoebox/storage/snapshots', { method: 'POST' }),
  snapshotAssets: (name: string) => request<SnapshotAsset[]>(`/shoebox/storage/snapshots/${encodeURIComponent(name)}/assets`),
  restoreFromSnapshot: (name: string, assetIds: string[]) =>
    request<{ albumId: string | null; results: RestoreResult[] }>(`/shoebox/storage/snapshots/${encodeURIComponent(name)}/restore`, {
      method: 'POST',
      ...json({ assetIds }),
    }),
  backup: () => request<BackupStatus>('/shoebox/storage/backup'),
  /** An empty password has the service make one; the answer carries the key either way. */
  setBackupTarget: (repository: string, password: string) =>
    request<BackupTarget>('/shoebox/storage/backup', { method: 'PUT', ...json({ repository, password }) }),
  backUpNow: () => request<{ jobId: string }>('/shoebox/storage/backup/run', { method: 'POST' }),
  /** A new key for the repository (the old one stops opening it), in a new kit. */
  changeBackupKey: () => request<BackupTarget>('/shoebox/storage/backup/key', { method: 'POST' }),
  drill: () => request<DrillStatus>('/shoebox/storage/backup/drill'),
  /** Starts a restore drill in the background; 409 while one runs. */
  drillNow: () => request<{ running: boolean }>('/shoebox/storage/backup/drill', { method: 'POST' }),
  setDrillSchedule: (everyDays: number) =>
    request<DrillStatus>('/shoebox/storage/backup/drill', { method: 'PUT', ...json({ everyDays }) }),
  confirmKit: (keyId: string) => request<Kit>('/shoebox/storage/backup/kit/confirm', { method: 'POST', ...json({ keyId }) }),

  // Updates of the appliance (RAUC); 503 where RAUC does not run.
  update: () => request<UpdateStatus>('/shoebox/update'),
  /** The bundle as the request body; `onprogress` gets the share sent (0 to 1). */
  uploadBundle: (file: File, onprogress: (sent: number) => void) =>
    sendFile<{ installing: string }>('/shoebox/update/bundle', file, onprogress),
  restartBox: () => request<{ restarting: boolean }>('/shoebox/update/restart', { method: 'POST' }),
  modelDownload: () => request<ModelFetch>('/shoebox/ml/models/download'),
  /** Starts downloading a model; 202 once it started, 409 while another downloads. */
  downloadModel: (name: string) => request<ModelFetch>('/shoebox/ml/models/download', { method: 'POST', ...json({ name }) }),
  /** Model folders on disks plugged into the box; none without a storage service. */
  foundModels: () => request<FoundModel[]>('/shoebox/ml/models/found'),
  importModel: (path: string) => request<ModelFetch>('/shoebox/ml/models/import', { method: 'POST', ...json({ path }) }),
  updateSource: () => request<UpdateSource>('/shoebox/update/source'),
  /** `null` has no source: updates by hand only. */
  setUpdateSource: (url: string | null) => request<UpdateSource>('/shoebox/update/source', { method: 'PUT', ...json({ url }) }),
  checkUpdateSource: () => request<UpdateSource>('/shoebox/update/source/check', { method: 'POST' }),
  /** Downloads the offered update and has RAUC install it; 202 once the download started. */
  installOffered: () => request<{ downloading: string }>('/shoebox/update/source/install', { method: 'POST' }),
};

/**
 * POSTs `file` as the request body. XMLHttpRequest, not fetch: only it
 * reports upload progress, which a bundle of hundreds of megabytes needs.
 */
function sendFile<T>(path: string, file: File, onprogress: (sent: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api${path}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onprogress(e.loaded / Math.max(e.total, 1));
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText) as T);
        return;
      }
      if (xhr.status === 401) reportUnauthorized();
      const message = await errorMessage(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText }));
      reject(new ApiError(xhr.status, message));
    };
    xhr.onerror = () => reject(new Error('The connection to the box was lost while sending the update: send it again'));
    xhr.send(file);
  });
}
