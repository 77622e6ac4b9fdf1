-- Up Migration

-- Every event as it came, partitioned by day on its event time so retention
-- drops whole partitions (cost flat as the log grows). The service creates a
-- day's partition before writing into it (and a few days ahead); an event whose
-- day has none (older than the retention, far future, no usable time) lands in
-- the default partition, which retention trims by row.
-- The key includes the partition column (PostgreSQL requires it): a redelivery
-- carries the same id and the same time, so it still conflicts.
CREATE TABLE events (
  event_id    text        NOT NULL,
  event_time  timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  type        text        NOT NULL,
  version     integer,
  -- valid: checked against its contract and applied; anything else is stored raw and counted
  status      text        NOT NULL,
  site        text,
  path        text COLLATE "C",
  upload_id   text,
  task_id     text,
  body        jsonb,
  -- the body as bytes when it is not JSON PostgreSQL accepts
  raw         bytea,
  PRIMARY KEY (event_time, event_id)
) PARTITION BY RANGE (event_time);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_upload_id ON events (upload_id) WHERE upload_id IS NOT NULL;
CREATE INDEX events_task_submitted ON events (task_id) WHERE type = 'task.submitted';

-- One row per version of a file, keyed by its upload id (every event about a
-- file names it); its timeline is filled in by the events as they come, in
-- any order. Kept forever (the per-file summary), unlike raw events.
CREATE TABLE file_versions (
  site               text        NOT NULL,
  upload_id          text        NOT NULL,
  path               text COLLATE "C",
  sensor             text,
  size               bigint,
  mtime_ms           double precision,
  ftp_time           timestamptz,
  source             text,
  attempts           integer,
  first_seen         timestamptz NOT NULL,
  uploaded_at        timestamptz,
  batch_id           text,
  task_id            text,
  submitted_at       timestamptz,
  checksum           text,
  checksum_algorithm text,
  destination_path   text,
  transferred_at     timestamptz,
  deleted_at         timestamptz,
  bytes_freed        bigint,
  clowder_file_id    text,
  clowder_dataset_id text,
  ingested_at        timestamptz,
  failed_at          timestamptz,
  failure_reason     text,
  failures           integer     NOT NULL DEFAULT 0,
  -- furthest state reached (uploaded < submitted < failed < transferred < deleted) and since when
  state              text        NOT NULL,
  state_rank         smallint    NOT NULL,
  state_at           timestamptz NOT NULL,
  -- set once this version's bytes were added to volumes_daily
  counted            boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (site, upload_id)
);
CREATE INDEX file_versions_path ON file_versions (path, upload_id);
CREATE INDEX file_versions_state ON file_versions (state, state_at);
CREATE INDEX file_versions_untransferred ON file_versions (site, state_at) WHERE state_rank < 4;

-- Every give-up with its reason and attempts (file.failed), kept with the summaries.
CREATE TABLE failures (
  event_id     text        PRIMARY KEY,
  site         text        NOT NULL,
  upload_id    text        NOT NULL,
  path         text COLLATE "C" NOT NULL,
  sensor       text        NOT NULL,
  size         bigint      NOT NULL,
  reason       text        NOT NULL,
  detail       text        NOT NULL,
  attempts     integer     NOT NULL,
  last_task_id text,
  failed_at    timestamptz NOT NULL
);
CREATE INDEX failures_site_time ON failures (site, failed_at DESC);
CREATE INDEX failures_time ON failures (failed_at DESC);

-- Files and bytes that arrived at the destination, per site, sensor and UTC
-- day of arrival; each version counted once (file_versions.counted).
CREATE TABLE volumes_daily (
  site   text   NOT NULL,
  sensor text   NOT NULL,
  day    date   NOT NULL,
  files  bigint NOT NULL DEFAULT 0,
  bytes  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (site, sensor, day)
);
CREATE INDEX volumes_daily_day ON volumes_daily (day);

-- Down Migration

DROP TABLE volumes_daily;
DROP TABLE failures;
DROP TABLE file_versions;
DROP TABLE events;
