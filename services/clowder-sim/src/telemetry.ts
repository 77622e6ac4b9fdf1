import { counter, type Logger, type Registry } from '@terra-transfer/platform';

/** One function per named occurrence: it logs and updates its metric. */
export function simTelemetry(logger: Logger, registry: Registry) {
  const faults = counter(registry, 'terra_transfer_clowder_sim_faults_injected_total', 'Injected 5xx replies, by phase (before: nothing done; after: done, reply lost)', ['phase']);
  const failures = counter(registry, 'terra_transfer_clowder_sim_handler_errors_total', 'Requests that ended in an uncaught handler exception (500)');
  return {
    faultInjected(phase: 'before' | 'after', status: number, route: string): void {
      faults.inc({ phase });
      logger.debug({ phase, status, route }, 'fault injected');
    },
    handlerError(route: string, err: unknown): void {
      failures.inc();
      logger.warn({ route, err }, 'handler threw (500, as Clowder would)');
    },
    faultsChanged(faults: object): void {
      logger.info({ faults }, 'fault injection changed');
    },
    started(port: number, replayedOps: number, tornLines: number): void {
      logger.info({ port, replayedOps, tornLines }, 'clowder simulator listening');
    },
  };
}
