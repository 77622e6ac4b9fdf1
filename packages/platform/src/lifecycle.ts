import type { Logger } from 'pino';
import { ConfigError } from './config.js';

type Step = { name: string; run: () => Promise<void> | void };

/**
 * Ordered, idempotent shutdown. Steps run in reverse order of registration
 * (stop intake first, close connections last); each failure is logged and the
 * next step still runs. A second signal exits at once.
 */
export class Lifecycle {
  private readonly steps: Step[] = [];
  private done: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Registers a clean-up step; the last registered runs first. With `runsAfter`, the step runs right after that
   * earlier-registered step instead (a service's step that needs the broker drained first, before Redis closes).
   */
  onShutdown(name: string, run: Step['run'], opts: { runsAfter?: string } = {}): void {
    const at = opts.runsAfter === undefined ? -1 : this.steps.findIndex((s) => s.name === opts.runsAfter);
    if (opts.runsAfter !== undefined && at < 0) throw new Error(`no shutdown step ${opts.runsAfter}`);
    if (at < 0) this.steps.push({ name, run });
    else this.steps.splice(at, 0, { name, run });
  }

  shutdown(reason: string): Promise<void> {
    this.done ??= (async () => {
      this.logger.info({ reason }, 'shutting down');
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
        } catch (err) {
          this.logger.error({ step: step.name, err }, 'shutdown step failed');
        }
      }
      this.logger.info('shutdown complete');
    })();
    return this.done;
  }

  /** SIGTERM/SIGINT → graceful shutdown and exit 0; a second signal → exit 1 now. */
  handleSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    let count = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++count > 1) {
        this.logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
        exit(1);
        return;
      }
      void this.shutdown(signal).then(() => exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}

/**
 * Runs a service's main. A bad configuration prints one message naming every
 * bad key and exits 78 (EX_CONFIG); any other start-up failure exits 1.
 */
export function runMain(service: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: invalid configuration:\n${err.problems.map((p) => `  ${p.key} ${p.problem}`).join('\n')}\n`);
      process.exit(78);
    }
    process.stderr.write(`${service}: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
