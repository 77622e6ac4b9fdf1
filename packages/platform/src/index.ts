export * from './config.js';
// The schema builder of env.json (and of HTTP bodies): a service's config needs no other import.
export { Type, type Static } from '@sinclair/typebox';
export * from './logger.js';
export * from './errors.js';
export * from './metrics.js';
export * from './redis.js';
export * from './lease.js';
export * from './lifecycle.js';
export * from './wait-for-file.js';
export * from './http/server.js';
export { AmqpClient, type AmqpClientOptions } from './amqp/client.js';
export { DEAD_LETTER_HEADERS } from './amqp/headers.js';
export { sleep } from './sleep.js';
export { Consumer, type ConsumerOptions, type DeliveryContext, type Handler, type RawDelivery, type RawHandler } from './amqp/consumer.js';
export { waitUntilAvailable, DEFAULT_PROBE_BACKOFF, type OutageReport, type ProbeBackoff, type UpstreamProbe } from './amqp/upstream.js';
export { platformSettings } from './settings.js';
export { bootService, type Boot, type BootConfig, type BootOptions, type Listener } from './boot.js';
export { testHook } from './test-hooks.js';
