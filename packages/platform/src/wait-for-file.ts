import { access } from 'node:fs/promises';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorBody } from './error-codes.js';

export interface WaitForFileOptions {
  /** The setting that names the file, for the messages (e.g. SITES_FILE). */
  key: string;
  /** Where the service will serve HTTP: the probes answer there while it waits. */
  host: string;
  port: number;
  /** Told once when the wait starts, and again every `remindEveryMs`. */
  onWait: (message: string) => void;
  pollMs?: number;
  remindEveryMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits for a file the service cannot start without (the site file, mounted from a ConfigMap or a volume
 * that may arrive after the container) instead of exiting: an orchestrator would restart the service in a loop.
 * Returns at once when the file exists. While it waits, the service's port answers the probes: /healthz 200
 * (the process is alive, restarting it would not help) and /readyz 503 naming what is missing; the port is
 * released before this returns, for the service's own server. Only a missing file is waited for: one that
 * exists but cannot be read or parsed is still a configuration error at start (exit 78).
 */
export async function waitForFile(path: string, o: WaitForFileOptions): Promise<void> {
  const present = () => access(path).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT');
  if (await present()) return;
  const message = `${o.key} ${path} does not exist yet: waiting for it (not ready until it appears)`;
  const server = createServer((req, res) => {
    const path_ = (req.url ?? '').split('?')[0];
    const [status, body] = path_ === '/healthz' ? [200, { status: 'ok' }] : path_ === '/readyz' ? [503, { ready: false, waiting: o.key }] : [404, errorBody('NOT_FOUND', `waiting for ${o.key}`)];
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  o.onWait(message);
  let lastReminder = Date.now();
  try {
    while (!(await present())) {
      await sleep(o.pollMs ?? 1000, undefined, { signal: o.signal });
      if (Date.now() - lastReminder >= (o.remindEveryMs ?? 60_000)) {
        lastReminder = Date.now();
        o.onWait(message);
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
