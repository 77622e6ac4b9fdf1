import { env, platformSettings } from '@terra-transfer/platform';
import { DEFAULT_ROTATED_SUFFIX } from './core/rotation.js';

const isStringMap = (v: unknown): string | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string') ? undefined : 'must be a JSON object of strings';

/** Every setting of the log-tailer, declared once. */
export const settings = {
  ...platformSettings,
  HTTP_PORT: env.int('HTTP port (health, readiness, metrics, API docs)', { default: 8081, min: 0, max: 65535 }),
  SITE: env.string('Site slug put on every event', { default: 'ua-mac', pattern: /^[a-z0-9][a-z0-9-]*$/ }),
  XFERLOG_PATH: env.path('The FTP server\'s xferlog (current file; rotated ones sit beside it)', { default: '/var/log/xferlog' }),
  XFERLOG_ROTATED_SUFFIX: env.string('Regex for the name suffix of rotated logs, with a named group n (xferlog.N, higher is older) or date (xferlog-YYYYMMDD); .gz allowed', { default: DEFAULT_ROTATED_SUFFIX }),
  XFERLOG_TIMEZONE: env.string('Time zone of the log\'s timestamps (they carry none): UTC or an IANA name', { default: 'UTC' }),
  CACHE_ROOT: env.path('Cache root: where the FTP server stores uploads (the real files events point to)'),
  FTP_ROOT: env.string('Prefix of logged paths that stands for CACHE_ROOT (vsftpd logs chroot-relative paths: "/")', { default: '/' }),
  FTP_USER_ROOTS: env.json<Record<string, string>>('Per-user sub-directory of CACHE_ROOT that the user\'s FTP root maps to, e.g. {"lemnatec":"LemnaTec"}', isStringMap, { default: {} }),
  WHITELIST: env.list('Sensor directories (relative to CACHE_ROOT, comma-separated) whose uploads are published; others are counted and skipped'),
  STATE_DIR: env.path('Directory of the durable cursor (local disk, next to the log)', { default: '/var/lib/terra-transfer/log-tailer' }),
  START_AT: env.enum(['beginning', 'end'] as const, 'Where to start in the current log when no cursor exists yet', { default: 'beginning' }),
  POLL_INTERVAL_MS: env.int('Poll interval: the fallback when no file-system notification arrives', { default: 250, min: 10 }),
  ROTATE_WAIT_MS: env.int('How long a rotated log is still drained after its last growth (longer than the longest FTP session)', { default: 15 * 60_000, min: 0 }),
  MAX_LINE_BYTES: env.int('Longer lines are counted, logged and skipped', { default: 16 * 1024, min: 256 }),
  READ_CHUNK_BYTES: env.int('Bytes read from the log at a time', { default: 256 * 1024, min: 4096 }),
  PUBLISH_WINDOW: env.int('Publishes awaiting their broker confirm at once', { default: 1000, min: 1, max: 100_000 }),
  SENT_VERSIONS_MEMORY: env.int('Versions (path, size, mtime) sent lately that are remembered, to tell apart files whose names log alike (a b.bin, a_b.bin)', { default: 50_000, min: 0 }),
  CHECKPOINT_INTERVAL_MS: env.int('Most time between two cursor checkpoints while lines are settling', { default: 500, min: 10 }),
  CHECKPOINT_EVERY_LINES: env.int('Checkpoint sooner once this many lines settled since the last one', { default: 20_000, min: 1 }),
} as const;
