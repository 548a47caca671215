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

/** A backup to restore onto a blank box: where it is, and the key from its emergency kit. */
export interface RestoreSource {
  repository: string;
  password: string;
}

/** What the newest backup in a repository holds, read before anything is restored. */
export interface BackupContents {
  backupId: string;
  createdAt: string;
  sizeBytes: number;
  users: { name: string; email: string }[];
  photos: number;
  videos: number;
  albums: number;
  people: number;
}

/**
 * The setup wizard's restore: `restoring` while the storage service reads
 * the backup, `checking` while every original is compared with its
 * checksum (`checked` of `total`), `failed` with nothing restored (the box
 * is still blank), `restarting` once done (the server starts again on the
 * restored library).
 */
export interface RestoreStatus {
  state: 'idle' | 'inspecting' | 'restoring' | 'checking' | 'failed' | 'restarting';
  checked: number;
  total: number;
  error: string;
}

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
  /** A live photo's motion part, a hidden video asset. */
  livePhotoVideoId?: string | null;
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

/** Someone recognised in the photos (Immich's `PersonResponseDto`). */
export interface FacePerson {
  id: string;
  /** Empty until the owner names them. */
  name: string;
  birthDate: string | null;
  isHidden: boolean;
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

/** What this server can do (the part of Immich's `ServerFeaturesDto` the UI reads). */
export interface ServerFeatures {
  smartSearch: boolean;
  ocr: boolean;
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

/** A background queue as `/api/queues` lists it (Immich's `QueueResponseDto`). */
export interface Queue {
  name: string;
  isPaused: boolean;
  statistics: { active: number; completed: number; delayed: number; failed: number; paused: number; waiting: number };
}

/** The machine-learning tasks, by their queue names. */
export type MlTask = 'ocr' | 'faceDetection' | 'facialRecognition' | 'smartSearch' | 'duplicateDetection';
export const ML_TASKS: readonly string[] = [
  'ocr',
  'faceDetection',
  'facialRecognition',
  'smartSearch',
  'duplicateDetection',
] satisfies MlTask[];

export interface MlModel {
  task: MlTask;
  name: string;
  /** Its files are in the models folder. */
  installed: boolean;
  /** The task is switched on (needs the runtime and the model). */
  enabled: boolean;
  loaded: boolean;
  /** Where it runs (for search by content, its image network): "cpu" or "npu". */
  backend: 'cpu' | 'npu';
}

export interface MachineLearning {
  /**
   * The ONNX Runtime library (found but not loaded when no task needs it),
   * or why it was not found: the message says what to do.
   */
  runtime: { library: string; version?: string; loaded: boolean } | { error: string; loaded: false };
  /**
   * The Rockchip NPU runtime, when there is one, with the chip models are
   * converted for, or why it cannot be used (the message says what to do).
   */
  npu: { library: string; soc: string } | { error: string } | null;
  modelsDir: string;
  models: MlModel[];
}

/** What the server found for video at start-up, and the engine transcodes use now. */
export interface VideoHardware {
  /** The engine in use ("software", "vaapi", ...). */
  videoEncoder: string;
  videoEngineChosen: VideoAccel;
  /** Why the chosen engine is not used, when it is not. */
  videoEngineProblem: string | null;
}

export interface Status {
  version: string;
  uptimeSeconds: number;
  catalogSchemaVersion: number;
  dataDir: string;
  jobs: { pending: number; running: number; failed: number };
  hardware: VideoHardware;
  machineLearning: MachineLearning;
}

export type VideoAccel = 'disabled' | 'nvenc' | 'qsv' | 'vaapi' | 'rkmpp' | 'v4l2';
export type VideoCodec = 'h264' | 'hevc' | 'vp9' | 'av1';
export type AudioCodec = 'mp3' | 'aac' | 'opus' | 'pcm_s16le';
export type VideoContainer = 'mov' | 'mp4' | 'ogg' | 'webm';

/** The video settings, as Immich's SystemConfigFFmpegDto (the server checks them). */
export interface VideoSettings {
  transcode: 'all' | 'optimal' | 'bitrate' | 'required' | 'disabled';
  targetVideoCodec: VideoCodec;
  targetAudioCodec: AudioCodec;
  acceptedVideoCodecs: VideoCodec[];
  acceptedAudioCodecs: AudioCodec[];
  acceptedContainers: VideoContainer[];
  targetResolution: string;
  crf: number;
  preset: string;
  maxBitrate: string;
  threads: number;
  twoPass: boolean;
  tonemap: 'hable' | 'mobius' | 'reinhard' | 'disabled';
  accel: VideoAccel;
  accelDecode: boolean;
  preferredHwDevice: string;
  bframes: number;
  refs: number;
  gopSize: number;
  cqMode: 'auto' | 'cqp' | 'icq';
  temporalAQ: boolean;
}

/** A line of text read from a photo; corners are fractions of its width and height, clockwise from top-left. */
export interface OcrLine {
  id: string;
  assetId: string;
  text: string;
  boxScore: number;
  textScore: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  x3: number;
  y3: number;
  x4: number;
  y4: number;
}

/** What the background jobs found in a photo, or why it could not be fetched. */
export type Recognised = { lines: OcrLine[]; faces: Face[] } | { error: string };

/** A face found in a photo: its box in pixels of an image `imageWidth` × `imageHeight` (the preview). */
export interface Face {
  id: string;
  imageWidth: number;
  imageHeight: number;
  boundingBoxX1: number;
  boundingBoxY1: number;
  boundingBoxX2: number;
  boundingBoxY2: number;
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

// The storage service's view (`/api/shoebox/storage/...`, admin only).

/** A whole disk the storage service sees. */
export interface Disk {
  path: string;
  model: string;
  serial: string;
  sizeBytes: number;
  /** "usb", "sata", "nvme", … or "" when the kernel does not say. */
  transport: string;
  /** No partitions and no file system. */
  blank: boolean;
  /** The system runs from it: never offered for the pool. */
  system: boolean;
  inPool: boolean;
  /** SMART overall health: "passed", "failing", or "" when not reported. */
  smart: string;
}

/** How the pool keeps data: one copy (`single`) or a copy on each of two disks (`raid1`). */
export type PoolProfile = 'single' | 'raid1';

/** What creating the pool would erase ("/dev/sdb (ST2000, 2000398934016 bytes)"), and the token that confirms it. */
export interface PoolPlan {
  token: string;
  erases: string[];
}

export interface PoolMember {
  devid: number;
  /** "" when the disk is missing. */
  path: string;
  sizeBytes: number;
  missing: boolean;
  /** Read, write, flush, checksum and generation errors since the pool was made. */
  errors: number;
}

export interface Scrub {
  /** "never", "running", "finished", "aborted" or "interrupted". */
  state: string;
  /** As btrfs prints it ("Wed Nov 25 09:29:29 2026"), or "". */
  started: string;
  errors: number;
  corrected: number;
}

export interface Pool {
  present: boolean;
  uuid: string;
  mounted: boolean;
  /** A member is missing: no redundancy until it is replaced. */
  degraded: boolean;
  dataProfile: string;
  metadataProfile: string;
  sizeBytes: number;
  usedBytes: number;
  devices: PoolMember[];
  scrub: Scrub;
  /** A long operation in progress ("replacing devid 2 with /dev/sdc"), or "". */
  activity: string;
  /** Why the last long operation failed, or "". */
  lastError: string;
}

export interface Snapshot {
  name: string;
  createdAt: string;
  /** What asked for it: "ui", "timer", "backup-ui", "before-update", … */
  trigger: string;
}

/** An asset as a snapshot's catalog holds it. */
export interface SnapshotAsset {
  id: string;
  ownerId: string;
  originalFileName: string;
  type: string;
  fileCreatedAt: string;
  /** The library still has these bytes for this owner. */
  inLibrary: boolean;
}

export interface RestoreResult {
  /** The asset's id in the snapshot. */
  id: string;
  status: 'restored' | 'present' | 'failed';
  assetId?: string;
  error?: string;
}

export interface BackupStatus {
  configured: boolean;
  repository: string;
  running: boolean;
  doneBytes: number;
  totalBytes: number;
  last: {
    finishedAt: string;
    ok: boolean;
    /** The failure, or a warning on success (old backups not pruned); "" when none. */
    error: string;
    snapshotId: string;
    files: number;
    bytes: number;
  } | null;
  kit: Kit | null;
}

/** The newest emergency kit: which key it holds, and whether its keeping was confirmed. */
export interface Kit {
  repository: string;
  keyId: string;
  createdAt: string;
  confirmedAt: string | null;
}

/** Where backups go, the key that opens them, and the kit that holds it. */
export interface BackupTarget {
  repository: string;
  password: string;
  kit: Kit;
}

/** The last restore drill: the newest backup restored into a scratch folder and checked. */
export interface Drill {
  startedAt: string;
  finishedAt: string;
  /** Every original came back with its checksum, and nothing the library had is missing. */
  ok: boolean;
  /** The backup restored; "" when none could be. */
  backupId: string;
  backupCreatedAt: string | null;
  /** Originals checked, and their bytes. */
  assets: number;
  bytes: number;
  /** What is wrong, one line each (the first 50); `problemCount` counts them all. */
  problems: string[];
  problemCount: number;
  /** Why the drill could not run to the end; "" when it did. */
  error: string;
}

export interface DrillStatus {
  running: boolean;
  everyDays: number;
  /** When the next scheduled drill is due (now, when it is due already). */
  nextAt: string;
  last: Drill | null;
}

/** A condition of the box that holds now (`GET /api/shoebox/alerts`). */
export interface Alert {
  key: string;
  level: 'error' | 'warning';
  title: string;
  message: string;
  raisedAt: string;
}

/** Immich's `NotificationDto`: the box's alerts reach admins as these. */
export interface AppNotification {
  id: string;
  createdAt: string;
  level: 'success' | 'error' | 'warning' | 'info';
  type: string;
  title: string;
  description?: string | null;
  readAt?: string | null;
}

/** Where alerts are sent; the stored mail password is never sent back. */
export interface AlertDelivery {
  email: {
    host: string;
    port: number;
    security: 'none' | 'starttls' | 'tls';
    username: string;
    password: string;
    passwordSet?: boolean;
    from: string;
    to: string;
  } | null;
  webhook: { url: string } | null;
}

/** How a test alert went, per channel. */
export interface ChannelOutcome {
  configured: boolean;
  ok?: boolean;
  error?: string;
}

/** One A/B root slot as RAUC reports it. */
export interface UpdateSlot {
  name: string;
  /** The boot loader's name for it: A or B. */
  bootname: string;
  state: 'booted' | 'inactive' | 'active' | string;
  /** The boot loader's verdict. */
  bootStatus: 'good' | 'bad' | string;
  /** The bundle installed there; empty for the slot the image wrote. */
  version: string;
  installedAt: string;
}

/** `GET /api/shoebox/update`: the slots, an installation, a rollback. */
export interface UpdateStatus {
  booted: string;
  /** The version running; empty where the image does not say. */
  version?: string;
  slots: UpdateSlot[];
  operation: 'idle' | 'installing' | string;
  progress: number;
  message: string;
  lastError: string;
  /** The update that failed its first boot and was undone. */
  rolledBack: UpdateSlot | null;
}

/** A release an update source offers this box. */
export interface UpdateRelease {
  version: string;
  url: string;
  sha256: string;
  size: number;
}

/** `GET /api/shoebox/update/source`. */
export interface UpdateSource {
  url: string | null;
  check: { checkedAt: number; url: string; offered: UpdateRelease | null; error: string } | null;
  /** Whether the offer is newer than what the box has; null where RAUC does not answer. */
  available: boolean | null;
  download: { state: '' | 'downloading' | 'installing' | 'failed'; version: string; received: number; total: number; error: string };
}

/** A file system on a disk outside the pool: a backup to restore, or a place to back up to. */
export interface BackupDisk {
  path: string;
  label: string;
  fsType: string;
  sizeBytes: number;
  freeBytes: number;
  model: string;
  transport: string;
  /** The folder a backup to this disk goes into. */
  backupFolder: string;
  /** Addresses of the backups found on it. */
  repositories: string[];
}

/** A model folder found on a disk plugged into the box. */
export interface FoundModel {
  name: string;
  path: string;
  /** The disk's label, model or device. */
  disk: string;
}

/** `GET /api/shoebox/ml/models/download`: the model download or copy running, or the last one. */
export interface ModelFetch {
  state: '' | 'downloading' | 'copying' | 'done' | 'failed';
  name: string;
  received: number;
  total: number;
  error: string;
}
