import got from 'got';
import type { TaskSubmittedData } from '@terra-transfer/contracts';
import { PermanentError, TransientError } from '@terra-transfer/platform';

/**
 * Tells a watcher at another site about a task over HTTP (the original's
 * "NCSA gets pinged about incoming transfers"). Registration is idempotent on
 * the watcher's side, so a retry after a lost answer is harmless.
 */
export class WatcherNotifier {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async notify(task: TaskSubmittedData): Promise<void> {
    try {
      await got.post(new URL('/api/v1/tasks', this.baseUrl), {
        json: task,
        headers: { authorization: `Bearer ${this.token}` },
        timeout: { request: 30_000 },
        retry: { limit: 3, methods: ['POST'], statusCodes: [408, 429, 500, 502, 503, 504] },
      });
    } catch (err) {
      const status = (err as { response?: { statusCode?: number } }).response?.statusCode;
      if (status && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        throw new PermanentError('WATCHER_REJECTED', `watcher refused task ${task.taskId}: HTTP ${status}`);
      }
      throw new TransientError('WATCHER_UNREACHABLE', `watcher not reachable for task ${task.taskId}: ${status ? `HTTP ${status}` : (err as Error).message}`);
    }
  }
}
