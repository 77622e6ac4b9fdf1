import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export interface WatchHints {
  /** Something happened to this path (a file written, created, renamed in; or a folder): look at it. */
  path(abs: string): void;
  /** Something changed in this folder without saying what (polling): list it. */
  folder(abs: string): void;
  error(err: unknown): void;
}

export interface WatchOptions {
  /** Stat-based polling instead of inotify (network mounts deliver no events). */
  poll: boolean;
  pollIntervalMs: number;
  /** Folders (absolute) not worth watching. */
  ignoreFolder: (abs: string) => boolean;
}

/**
 * chokidar watches the folders only (files are ignored), so it holds one
 * entry and one inotify watch per folder, never one per file: a folder of a
 * million files costs a few thousand watches. File names come from the
 * folder watches' raw events (inotify names the entry; polling only says
 * that the folder changed). These are hints: the source always decides from
 * its own stat, and its full scans cover whatever a hint missed (an inotify
 * queue overflow, files written before the watch).
 */
export function watchFolders(root: string, o: WatchOptions, hints: WatchHints): FSWatcher {
  const w = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    usePolling: o.poll,
    interval: o.pollIntervalMs,
    binaryInterval: o.pollIntervalMs,
    atomic: false,
    ignored: (p, stats) => (stats ? !stats.isDirectory() || o.ignoreFolder(p) : false),
  });
  w.on('addDir', (p: string) => hints.folder(p));
  w.on('raw', (_event, p: string, details: unknown) => {
    const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (o.poll) {
      if (p) hints.folder(p);
    } else if (typeof watched === 'string' && p) {
      hints.path(join(watched, p));
    }
  });
  w.on('error', (err: unknown) => hints.error(err));
  return w;
}
