-- Each statement block separated by a line "-- migration" is one schema
-- version; PRAGMA user_version records how many have run. Never edit a block
-- that has shipped: append a new one.

-- migration 1: users, auth, assets, albums, jobs
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    should_change_password INTEGER NOT NULL DEFAULT 0,
    quota_bytes INTEGER,
    avatar_color TEXT NOT NULL DEFAULT 'primary',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    device_type TEXT NOT NULL DEFAULT '',
    device_os TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    checksum BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('IMAGE', 'VIDEO')),
    original_path TEXT NOT NULL UNIQUE,
    original_file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    device_asset_id TEXT NOT NULL DEFAULT '',
    device_id TEXT NOT NULL DEFAULT '',
    file_created_at INTEGER NOT NULL,
    file_modified_at INTEGER NOT NULL,
    -- capture time in UTC and on the wall clock where it was taken; both
    -- start as the file time and are replaced by EXIF when metadata runs
    taken_at INTEGER NOT NULL,
    local_taken_at INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    duration_ms INTEGER,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    visibility TEXT NOT NULL DEFAULT 'timeline',
    live_photo_video_id TEXT,
    has_metadata INTEGER NOT NULL DEFAULT 0,
    thumbnail_path TEXT,
    preview_path TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    UNIQUE (owner_id, checksum)
);
CREATE INDEX assets_timeline ON assets (owner_id, deleted_at, visibility, local_taken_at DESC);
CREATE INDEX assets_trash ON assets (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE exif (
    asset_id TEXT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    make TEXT,
    model TEXT,
    lens_model TEXT,
    exposure_time TEXT,
    f_number REAL,
    iso INTEGER,
    focal_length REAL,
    latitude REAL,
    longitude REAL,
    orientation TEXT,
    image_width INTEGER,
    image_height INTEGER,
    date_time_original INTEGER,
    time_zone TEXT,
    modify_date INTEGER,
    description TEXT,
    rating INTEGER,
    file_size INTEGER
);

CREATE TABLE albums (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    thumbnail_asset_id TEXT REFERENCES assets(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX albums_owner ON albums (owner_id);

CREATE TABLE album_assets (
    album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (album_id, asset_id)
);
CREATE INDEX album_assets_asset ON album_assets (asset_id);

-- Files renamed into the library whose catalog row may not be committed yet.
-- A row left here after a crash names an orphan to delete at start-up.
CREATE TABLE pending_files (
    path TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    asset_id TEXT REFERENCES assets(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after);
CREATE UNIQUE INDEX jobs_one_open_per_asset ON jobs (kind, asset_id) WHERE state IN ('pending', 'running');

-- migration 2: per-month counts for the timeline, kept by triggers
-- Counting a month's assets on request would scan every asset of the user;
-- this table has one row per (user, month, visibility, trashed, favorite),
-- so the bucket list reads a few hundred rows even at a million assets.
CREATE TABLE timeline_months (
    owner_id TEXT NOT NULL,
    month TEXT NOT NULL,
    visibility TEXT NOT NULL,
    trashed INTEGER NOT NULL,
    favorite INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (owner_id, trashed, visibility, favorite, month)
) WITHOUT ROWID;

CREATE TRIGGER timeline_months_insert AFTER INSERT ON assets BEGIN
    INSERT INTO timeline_months VALUES (new.owner_id, strftime('%Y-%m-01', new.local_taken_at / 1000, 'unixepoch'),
        new.visibility, new.deleted_at IS NOT NULL, new.is_favorite, 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER timeline_months_delete AFTER DELETE ON assets BEGIN
    UPDATE timeline_months SET count = count - 1
    WHERE owner_id = old.owner_id AND month = strftime('%Y-%m-01', old.local_taken_at / 1000, 'unixepoch')
      AND visibility = old.visibility AND trashed = (old.deleted_at IS NOT NULL) AND favorite = old.is_favorite;
END;

CREATE TRIGGER timeline_months_update AFTER UPDATE OF owner_id, local_taken_at, visibility, deleted_at, is_favorite ON assets BEGIN
    UPDATE timeline_months SET count = count - 1
    WHERE owner_id = old.owner_id AND month = strftime('%Y-%m-01', old.local_taken_at / 1000, 'unixepoch')
      AND visibility = old.visibility AND trashed = (old.deleted_at IS NOT NULL) AND favorite = old.is_favorite;
    INSERT INTO timeline_months VALUES (new.owner_id, strftime('%Y-%m-01', new.local_taken_at / 1000, 'unixepoch'),
        new.visibility, new.deleted_at IS NOT NULL, new.is_favorite, 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END;

INSERT INTO timeline_months
    SELECT owner_id, strftime('%Y-%m-01', local_taken_at / 1000, 'unixepoch'), visibility, deleted_at IS NOT NULL, is_favorite, count(*)
    FROM assets GROUP BY 1, 2, 3, 4, 5;

-- migration 3: per-user preferences (the Immich apps' settings), as JSON
CREATE TABLE user_preferences (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    json TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- migration 4: XMP sidecars uploaded with an original
ALTER TABLE assets ADD COLUMN sidecar_path TEXT;

-- migration 5: server-wide settings the setup wizard and admin pages change
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- migration 6: change numbers and deletion records for the mobile apps' sync
-- stream. One counter orders every change; triggers stamp each synced row
-- with the next number when it is written, and record deletions. Writers are
-- serialised, so numbers commit in order and a reader's snapshot holds every
-- change up to the counter it sees.
CREATE TABLE sync_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO sync_clock VALUES (1, 0);

ALTER TABLE users ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE exif ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE album_assets ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;

-- Number the rows that exist already, each table after the previous one.
UPDATE users SET sync_seq = rowid;
UPDATE sync_clock SET seq = (SELECT coalesce(max(sync_seq), 0) FROM users);
UPDATE assets SET sync_seq = rowid + (SELECT seq FROM sync_clock);
UPDATE sync_clock SET seq = max(seq, (SELECT coalesce(max(sync_seq), 0) FROM assets));
UPDATE exif SET sync_seq = rowid + (SELECT seq FROM sync_clock);
UPDATE sync_clock SET seq = max(seq, (SELECT coalesce(max(sync_seq), 0) FROM exif));
UPDATE albums SET sync_seq = rowid + (SELECT seq FROM sync_clock);
UPDATE sync_clock SET seq = max(seq, (SELECT coalesce(max(sync_seq), 0) FROM albums));
UPDATE album_assets SET sync_seq = rowid + (SELECT seq FROM sync_clock);
UPDATE sync_clock SET seq = max(seq, (SELECT coalesce(max(sync_seq), 0) FROM album_assets));

CREATE INDEX users_sync ON users (sync_seq);
CREATE INDEX assets_sync ON assets (owner_id, sync_seq);
CREATE INDEX exif_sync ON exif (sync_seq);
CREATE INDEX albums_sync ON albums (owner_id, sync_seq);
CREATE INDEX album_assets_sync ON album_assets (album_id, sync_seq);

-- What was deleted for good, for whom: kind 'user' (user_id NULL: everyone),
-- 'asset', 'album' (key = album id) and 'album_asset' (key = album id,
-- key2 = asset id).
-- One event may concern several users: one row each, under the same seq.
CREATE TABLE sync_deletions (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    key TEXT NOT NULL,
    key2 TEXT,
    deleted_at INTEGER NOT NULL
);
CREATE INDEX sync_deletions_user ON sync_deletions (kind, user_id, seq);

-- Where each login session's client has got to, per entity type; the value
-- is the acknowledgement string the client sent back.
CREATE TABLE sync_checkpoints (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    ack TEXT NOT NULL,
    PRIMARY KEY (session_id, type)
);

CREATE TRIGGER users_sync_insert AFTER INSERT ON users BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE users SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER users_sync_update AFTER UPDATE OF email, name, is_admin, quota_bytes, avatar_color ON users BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE users SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER users_sync_delete AFTER DELETE ON users BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at) VALUES ((SELECT seq FROM sync_clock), 'user', NULL, OLD.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;

CREATE TRIGGER assets_sync_insert AFTER INSERT ON assets BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE assets SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER assets_sync_update AFTER UPDATE OF checksum, kind, original_file_name, file_created_at, file_modified_at,
    taken_at, local_taken_at, width, height, duration_ms, is_favorite, visibility, live_photo_video_id, deleted_at ON assets BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE assets SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER assets_sync_delete AFTER DELETE ON assets BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at) VALUES ((SELECT seq FROM sync_clock), 'asset', OLD.owner_id, OLD.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;

CREATE TRIGGER exif_sync_insert AFTER INSERT ON exif BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE exif SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER exif_sync_update AFTER UPDATE OF make, model, lens_model, exposure_time, f_number, iso, focal_length, latitude,
    longitude, orientation, image_width, image_height, date_time_original, time_zone, modify_date, description, rating, file_size ON exif BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE exif SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER albums_sync_insert AFTER INSERT ON albums BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE albums SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER albums_sync_update AFTER UPDATE OF owner_id, name, description, thumbnail_asset_id, updated_at ON albums BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE albums SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER albums_sync_delete AFTER DELETE ON albums BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at) VALUES ((SELECT seq FROM sync_clock), 'album', OLD.owner_id, OLD.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;

CREATE TRIGGER album_assets_sync_insert AFTER INSERT ON album_assets BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE album_assets SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
-- Removed from an album that still exists; a deleted album is one AlbumDeleteV1.
CREATE TRIGGER album_assets_sync_delete AFTER DELETE ON album_assets
    WHEN EXISTS (SELECT 1 FROM albums WHERE id = OLD.album_id) BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at) VALUES ((SELECT seq FROM sync_clock), 'album_asset',
        (SELECT owner_id FROM albums WHERE id = OLD.album_id), OLD.album_id, OLD.asset_id, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;

-- migration 7: albums shared with other users. The owner stays in
-- albums.owner_id; album_users holds the other members. Deletions are
-- recorded for every member who must hear of them.
CREATE TABLE album_users (
    album_id TEXT NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_at INTEGER NOT NULL,
    sync_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (album_id, user_id)
);
CREATE INDEX album_users_user ON album_users (user_id);

CREATE TRIGGER album_users_sync_insert AFTER INSERT ON album_users BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE album_users SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER album_users_sync_update AFTER UPDATE OF role ON album_users BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE album_users SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
-- A member who leaves loses the album; the others see the member go.
CREATE TRIGGER album_users_sync_delete AFTER DELETE ON album_users
    WHEN EXISTS (SELECT 1 FROM albums WHERE id = OLD.album_id) BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at)
        VALUES ((SELECT seq FROM sync_clock), 'album', OLD.user_id, OLD.album_id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER));
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at)
        SELECT (SELECT seq FROM sync_clock), 'album_user', member, OLD.album_id, OLD.user_id, CAST(unixepoch('subsec') * 1000 AS INTEGER)
        FROM (SELECT owner_id AS member FROM albums WHERE id = OLD.album_id
              UNION SELECT user_id FROM album_users WHERE album_id = OLD.album_id);
END;

-- Before the delete, while the members are still listed.
DROP TRIGGER albums_sync_delete;
CREATE TRIGGER albums_sync_delete BEFORE DELETE ON albums BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at)
        SELECT (SELECT seq FROM sync_clock), 'album', member, OLD.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER)
        FROM (SELECT OLD.owner_id AS member UNION SELECT user_id FROM album_users WHERE album_id = OLD.id);
END;

DROP TRIGGER album_assets_sync_delete;
CREATE TRIGGER album_assets_sync_delete AFTER DELETE ON album_assets
    WHEN EXISTS (SELECT 1 FROM albums WHERE id = OLD.album_id) BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at)
        SELECT (SELECT seq FROM sync_clock), 'album_asset', member, OLD.album_id, OLD.asset_id, CAST(unixepoch('subsec') * 1000 AS INTEGER)
        FROM (SELECT owner_id AS member FROM albums WHERE id = OLD.album_id
              UNION SELECT user_id FROM album_users WHERE album_id = OLD.album_id);
END;

-- migration 8: partner sharing: one user shows their whole library to
-- another. created_seq is the change number of the partnership's creation,
-- which a later in_timeline change does not move: it marks where the
-- partner's older photos must be sent from.
CREATE TABLE partners (
    shared_by_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    shared_with_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    in_timeline INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_seq INTEGER NOT NULL DEFAULT 0,
    sync_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (shared_by_id, shared_with_id),
    CHECK (shared_by_id <> shared_with_id)
);
CREATE INDEX partners_with ON partners (shared_with_id);

CREATE TRIGGER partners_sync_insert AFTER INSERT ON partners BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE partners SET sync_seq = (SELECT seq FROM sync_clock), created_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER partners_sync_update AFTER UPDATE OF in_timeline ON partners BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE partners SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER partners_sync_delete AFTER DELETE ON partners BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at)
        SELECT (SELECT seq FROM sync_clock), 'partner', member, OLD.shared_by_id, OLD.shared_with_id, CAST(unixepoch('subsec') * 1000 AS INTEGER)
        FROM (SELECT OLD.shared_by_id AS member UNION SELECT OLD.shared_with_id);
END;

-- migration 9: shared links: a public address for an album or a set of
-- photos, optionally with a password and an expiry date. The key is kept to
-- show the owner the address again; requests find the link by the key's
-- SHA-256 digest. Passwords are argon2id hashes; a visitor who gave the
-- right one holds a session token, stored as its digest.
CREATE TABLE shared_links (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    slug TEXT UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('ALBUM', 'INDIVIDUAL')),
    album_id TEXT REFERENCES albums(id) ON DELETE CASCADE,
    description TEXT,
    password_hash TEXT,
    expires_at INTEGER,
    allow_download INTEGER NOT NULL DEFAULT 1,
    allow_upload INTEGER NOT NULL DEFAULT 0,
    show_metadata INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    CHECK ((kind = 'ALBUM') = (album_id IS NOT NULL))
);
CREATE INDEX shared_links_owner ON shared_links (owner_id);

CREATE TABLE shared_link_assets (
    link_id TEXT NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, asset_id)
);

CREATE TABLE shared_link_sessions (
    token_hash BLOB PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- migration 10: a video's transcode for playback, when its original is not
-- one every client plays.
ALTER TABLE assets ADD COLUMN encoded_video_path TEXT;

-- migration 11: text found in photos, one row per line, and when each
-- asset was last read (zero lines is an answer too).
CREATE TABLE asset_ocr (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    x1 REAL NOT NULL, y1 REAL NOT NULL,
    x2 REAL NOT NULL, y2 REAL NOT NULL,
    x3 REAL NOT NULL, y3 REAL NOT NULL,
    x4 REAL NOT NULL, y4 REAL NOT NULL,
    box_score REAL NOT NULL,
    text_score REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX asset_ocr_asset ON asset_ocr (asset_id);
ALTER TABLE assets ADD COLUMN ocr_at INTEGER;

-- migration 12: faces found in photos, in pixels of the image they were
-- found in (the preview), with five landmarks as JSON; and when each asset
-- was last searched for faces.
CREATE TABLE asset_faces (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    image_width INTEGER NOT NULL,
    image_height INTEGER NOT NULL,
    x1 INTEGER NOT NULL, y1 INTEGER NOT NULL,
    x2 INTEGER NOT NULL, y2 INTEGER NOT NULL,
    score REAL NOT NULL,
    landmarks TEXT NOT NULL,
    source_type TEXT NOT NULL DEFAULT 'machine-learning'
);
CREATE INDEX asset_faces_asset ON asset_faces (asset_id);
ALTER TABLE assets ADD COLUMN faces_at INTEGER;

-- migration 13: each asset's CLIP embedding for search by content, as
-- little-endian f32s, with the model that made it (another model's vectors
-- are not comparable); and when each asset was last embedded. seq grows
-- with every write, so an in-memory index can catch up from where it was.
CREATE TABLE asset_embeddings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id TEXT NOT NULL UNIQUE REFERENCES assets(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    embedding BLOB NOT NULL
);
ALTER TABLE assets ADD COLUMN smart_search_at INTEGER;
-- Near-identical photos share a duplicate_id; duplicates_at is when the
-- asset's current embedding was compared with the rest.
ALTER TABLE assets ADD COLUMN duplicate_id TEXT;
ALTER TABLE assets ADD COLUMN duplicates_at INTEGER;
CREATE INDEX assets_duplicates ON assets (owner_id, duplicate_id) WHERE duplicate_id IS NOT NULL;

-- migration 14: people, and which face is whose. A face's embedding is
-- what recognition compares (little-endian f32s); a person's face_id is
-- the face its thumbnail is cut from.
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    birth_date TEXT,
    is_hidden INTEGER NOT NULL DEFAULT 0,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    face_id TEXT REFERENCES asset_faces(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX people_owner ON people (owner_id);
ALTER TABLE asset_faces ADD COLUMN person_id TEXT REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE asset_faces ADD COLUMN embedding BLOB;
CREATE INDEX asset_faces_person ON asset_faces (person_id) WHERE person_id IS NOT NULL;
ALTER TABLE assets ADD COLUMN recognized_at INTEGER;

-- migration 15: how far a running job has got (0 to 1, for long work such
-- as a transcode), and Apple's content identifier, which pairs a live
-- photo's still and video when they are uploaded separately.
ALTER TABLE jobs ADD COLUMN progress REAL;
ALTER TABLE assets ADD COLUMN live_photo_cid TEXT;
CREATE INDEX assets_live_photo_cid ON assets (owner_id, live_photo_cid) WHERE live_photo_cid IS NOT NULL;

-- migration 16: place names from GPS positions, a session the server has
-- told to start its sync over, whether a user has been through the Immich
-- web client's onboarding (those already here have), and people and faces
-- in the sync stream (deletions of kind 'person' and 'asset_face'; a face
-- going with its asset is no one's to hear of, the asset's deletion says it). Photos already in the catalog get their
-- place named once, by the job runner, while the setting below is there.
ALTER TABLE exif ADD COLUMN city TEXT;
ALTER TABLE exif ADD COLUMN state TEXT;
ALTER TABLE exif ADD COLUMN country TEXT;
DROP TRIGGER exif_sync_update;
CREATE TRIGGER exif_sync_update AFTER UPDATE OF make, model, lens_model, exposure_time, f_number, iso, focal_length, latitude,
    longitude, orientation, image_width, image_height, date_time_original, time_zone, modify_date, description, rating, file_size,
    city, state, country ON exif BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE exif SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
INSERT INTO settings (key, value, updated_at)
    SELECT 'places.backfill', 'pending', 0 WHERE EXISTS (SELECT 1 FROM exif WHERE latitude IS NOT NULL);
ALTER TABLE sessions ADD COLUMN pending_sync_reset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN onboarded INTEGER NOT NULL DEFAULT 0;
UPDATE users SET onboarded = 1;
ALTER TABLE people ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE asset_faces ADD COLUMN sync_seq INTEGER NOT NULL DEFAULT 0;
UPDATE people SET sync_seq = rowid + (SELECT seq FROM sync_clock);
UPDATE sync_clock SET seq = max(seq, (SELECT coalesce(max(sync_seq), 0) FROM people));
UPDATE asset_faces SET sync_seq = rowid + (SELECT seq FROM sync_clock);
UPDATE sync_clock SET seq = max(seq, (SELECT coalesce(max(sync_seq), 0) FROM asset_faces));
CREATE INDEX people_sync ON people (sync_seq);
CREATE INDEX asset_faces_sync ON asset_faces (sync_seq);
CREATE TRIGGER people_sync_insert AFTER INSERT ON people BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE people SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER people_sync_update AFTER UPDATE OF name, birth_date, is_hidden, is_favorite, face_id, updated_at ON people BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE people SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER people_sync_delete AFTER DELETE ON people BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at) VALUES ((SELECT seq FROM sync_clock), 'person', OLD.owner_id, OLD.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;
CREATE TRIGGER asset_faces_sync_insert AFTER INSERT ON asset_faces BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE asset_faces SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER asset_faces_sync_update AFTER UPDATE OF person_id, image_width, image_height, x1, y1, x2, y2 ON asset_faces BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    UPDATE asset_faces SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER asset_faces_sync_delete AFTER DELETE ON asset_faces BEGIN
    UPDATE sync_clock SET seq = seq + 1;
    INSERT INTO sync_deletions (seq, kind, user_id, key, key2, deleted_at) VALUES ((SELECT seq FROM sync_clock), 'asset_face',
        coalesce((SELECT owner_id FROM assets WHERE id = OLD.asset_id), ''), OLD.id, NULL, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;

-- migration 17: alerts about the box itself (a failed backup, a degraded
-- pool, a disk nearly full): one row per condition, open (cleared_at NULL)
-- while it holds; and each user's notifications, in Immich's shape, which
-- an alert gives every admin when it is raised.
CREATE TABLE alerts (
    key TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    cleared_at INTEGER
);
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

-- migration 18: a timeline month read from indexes alone. Its rows are
-- scattered over the table's pages (a month's photos arrive over years of
-- uploads), so reading each row cost a random page; these indexes hold
-- every column the month's grid shows, in the order it shows them.
DROP INDEX assets_timeline;
CREATE INDEX assets_timeline ON assets (owner_id, deleted_at, visibility, local_taken_at DESC, id,
    kind, is_favorite, taken_at, created_at, width, height, duration_ms, live_photo_video_id);
CREATE INDEX exif_place ON exif (asset_id, latitude, longitude, city, country);

-- migration 19: a timeline month as one index range. Looking each asset's
-- place up in exif cost a random page per asset (asset ids are random), so
-- the asset row carries a copy of its place, kept by the triggers below,
-- and the timeline index holds it with the other columns the grid shows.
ALTER TABLE assets ADD COLUMN place_latitude REAL;
ALTER TABLE assets ADD COLUMN place_longitude REAL;
ALTER TABLE assets ADD COLUMN place_city TEXT;
ALTER TABLE assets ADD COLUMN place_country TEXT;
UPDATE assets SET (place_latitude, place_longitude, place_city, place_country) =
    (SELECT latitude, longitude, city, country FROM exif WHERE exif.asset_id = assets.id);
CREATE TRIGGER assets_place_insert AFTER INSERT ON exif BEGIN
    UPDATE assets SET place_latitude = NEW.latitude, place_longitude = NEW.longitude,
        place_city = NEW.city, place_country = NEW.country WHERE id = NEW.asset_id;
END;
CREATE TRIGGER assets_place_update AFTER UPDATE OF latitude, longitude, city, country ON exif BEGIN
    UPDATE assets SET place_latitude = NEW.latitude, place_longitude = NEW.longitude,
        place_city = NEW.city, place_country = NEW.country WHERE id = NEW.asset_id;
END;
CREATE TRIGGER assets_place_delete AFTER DELETE ON exif BEGIN
    UPDATE assets SET place_latitude = NULL, place_longitude = NULL, place_city = NULL, place_country = NULL
        WHERE id = OLD.asset_id;
END;
DROP INDEX exif_place;
DROP INDEX assets_timeline;
CREATE INDEX assets_timeline ON assets (owner_id, deleted_at, visibility, local_taken_at DESC, id,
    kind, is_favorite, taken_at, created_at, width, height, duration_ms, live_photo_video_id,
    place_latitude, place_longitude, place_city, place_country);
