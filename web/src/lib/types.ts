// The slices of the server's JSON this UI reads. Field names follow the
// Immich OpenAPI document (target/fixtures/immich-openapi-3.0.0.json) and
// Shoebox's own routes under /api/shoebox.

export interface Setup {
  complete: boolean;
  adminCreated: boolean;
  appliance: boolean;
  hostname: string;
  timeZone: string;
  dataDir: string;
  backupTarget: string | null;
}

export type SetupChange = Partial<Pick<Setup, 'hostname' | 'timeZone' | 'backupTarget' | 'complete'>>;

export interface User {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
  quotaSizeInBytes: number | null;
  quotaUsageInBytes: number | null;
  shouldChangePassword: boolean;
  createdAt: string;
}

export interface Bucket {
  timeBucket: string;
  count: number;
}

/** `TimeBucketAssetResponseDto`: one month of assets, one array per field. */
export interface BucketAssets {
  id: string[];
  fileCreatedAt: string[];
  localOffsetHours: number[];
  ratio: number[];
  isImage: boolean[];
  isFavorite: boolean[];
  isTrashed: boolean[];
  duration: (string | number | null)[];
  /** Whose photo: a partner's when the timeline mixes theirs in (`withPartners`). */
  ownerId: string[];
}

export interface Exif {
  dateTimeOriginal?: string | null;
  make?: string | null;
  model?: string | null;
  lensModel?: string | null;
  fNumber?: number | null;
  exposureTime?: string | null;
  iso?: number | null;
  focalLength?: number | null;
  city?: string | null;
  state?: string | null;
  country?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  exifImageWidth?: number | null;
  exifImageHeight?: number | null;
  fileSizeInByte?: number | null;
  description?: string | null;
}

export interface Asset {
  id: string;
  ownerId: string;
  type: 'IMAGE' | 'VIDEO' | 'AUDIO' | 'OTHER';
  originalFileName: string;
  originalMimeType?: string;
  fileCreatedAt: string;
  localDateTime: string;
  isFavorite: boolean;
  isTrashed: boolean;
  visibility: 'timeline' | 'archive' | 'hidden' | 'locked';
  width?: number | null;
  height?: number | null;
  exifInfo?: Exif;
}

export interface Album {
  id: string;
  albumName: string;
  description: string;
  albumThumbnailAssetId: string | null;
  assetCount: number;
  startDate?: string | null;
  endDate?: string | null;
  ownerId: string;
  owner: Person;
  /** The owner first, then the members it is shared with. */
  albumUsers?: AlbumMember[];
  shared?: boolean;
  /** The owner made a public link to it. */
  hasSharedLink: boolean;
}

export interface AlbumWithAssets extends Album {
  assets: Asset[];
}

export type AlbumRole = 'owner' | 'editor' | 'viewer';

/** A user as other users see them: no quota, no admin flag. */
export interface Person {
  id: string;
  name: string;
  email: string;
}

export interface AlbumMember {
  role: AlbumRole;
  user: Person;
}

export interface Partner extends Person {
  inTimeline: boolean;
}

export interface SharedLink {
  id: string;
  key: string;
  slug: string | null;
  type: 'ALBUM' | 'INDIVIDUAL';
  description: string | null;
  hasPassword: boolean;
  createdAt: string;
  expiresAt: string | null;
  allowDownload: boolean;
  showMetadata: boolean;
  album?: Album;
  assets: Asset[];
}

/** What the share dialog sends; the target is added by the caller. */
export interface SharedLinkSettings {
  password?: string;
  expiresAt?: string | null;
  allowDownload: boolean;
  showMetadata: boolean;
  slug?: string;
  description?: string;
}

/**
 * An edit of an existing link: absent fields stay as they are; a null (or
 * empty) password, expiry or slug removes it.
 */
export interface SharedLinkChange {
  password?: string | null;
  expiresAt?: string | null;
  allowDownload?: boolean;
  showMetadata?: boolean;
  slug?: string | null;
  description?: string | null;
}

export interface MapMarker {
  id: string;
  lat: number;
  lon: number;
}

export interface SearchResult {
  assets: { count: number; total: number; items: Asset[]; nextPage: string | null };
}

export interface UploadResult {
  id: string;
  status: 'created' | 'duplicate';
}

export interface FailedJob {
  id: string | number;
  kind: string;
  assetId: string | null;
  state: string;
  attempts: number;
  error: string | null;
  updatedAt: string;
}

export interface Jobs {
  pending: number;
  running: number;
  failed: number;
  failedJobs: FailedJob[];
}

export interface Status {
  version: string;
  uptimeSeconds: number;
  catalogSchemaVersion: number;
  dataDir: string;
  jobs: { pending: number; running: number; failed: number };
}

export interface Storage {
  diskSize: string;
  diskUse: string;
  diskAvailable: string;
  diskUsagePercentage: number;
}

export interface Version {
  major: number;
  minor: number;
  patch: number;
}
