import { Writable } from 'node:stream';
import { createEvent } from '@terra-transfer/contracts';
import {
  AmqpClient, childSpan, createLogger, createRegistry, currentTrace, formatTraceparent, newTrace, outgoingTraceparent, outsideTrace, parseTraceparent,
  runInTrace, type TraceScope,
} from '@terra-transfer/platform';
import { AMQP_URL, deleteTopology, drainQueue, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { uploaded } from './helpers.js';

describe('traceparent', () => {
  it('parses what it formats, and refuses what W3C Trace Context does not allow', () => {
    const t = newTrace();
    expect(t.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(parseTraceparent(formatTraceparent(t))).toEqual(t);
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
    for (const bad of [undefined, 42, '', 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra']) {
      expect(parseTraceparent(bad)).toBeNull();
    }
    const c = childSpan(t);
    expect(c.traceId).toBe(t.traceId);
    expect(c.spanId).not.toBe(t.spanId);
  });

  it('an outgoing traceparent continues the current trace, or starts one outside any', () => {
    const t = newTrace();
    const inside = runInTrace({ trace: t }, () => parseTraceparent(outgoingTraceparent()));
    expect(inside!.traceId).toBe(t.traceId);
    expect(inside!.spanId).not.toBe(t.spanId);
    expect(parseTraceparent(outgoingTraceparent())!.traceId).not.toBe(t.traceId);
    expect(runInTrace({ trace: t }, () => outsideTrace(() => currentTrace()))).toBeUndefined();
  });

  it('log lines written in a trace scope carry its traceId and uploadId; a field the call passes wins', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } });
    const log = createLogger({ service: 'test', destination: sink });
    const t = newTrace();
    runInTrace({ trace: t, uploadId: 'u-1' }, () => {
      log.info('about the file');
      log.child({ component: 'x' }).info({ uploadId: 'u-other' }, 'about another file');
    });
    log.info('about nothing');
    expect(lines[0]).toMatchObject({ traceId: t.traceId, uploadId: 'u-1' });
    expect(lines[1]).toMatchObject({ traceId: t.traceId, uploadId: 'u-other', component: 'x' });
    expect(lines[2]).not.toHaveProperty('traceId');
    expect(lines[2]).not.toHaveProperty('uploadId');
  });
});

describe('traceparent over the real broker', () => {
  let prefix: string;
  let c: AmqpClient;
  beforeEach(async () => {
    prefix = uniquePrefix('trace');
    c = new AmqpClient({ url: AMQP_URL, prefix, connectionName: `test-${prefix}`, logger: testLogger(), registry: createRegistry(), sites: ['ua-mac'] });
    await c.start();
  });
  afterEach(async () => {
    await c.close(1_000);
    await deleteTopology(prefix);
  });

  it('a source starts a trace; the consumer runs its handler in it, and what the handler publishes continues it', async () => {
    const seen: TraceScope[] = [];
    c.consume({ key: 'batcherUploads', site: 'ua-mac' }, 'file.uploaded', async (e) => {
      seen.push(currentTrace()!);
      await c.publish(createEvent('file.transferred', `t-${e.id}`, {
        site: 'ua-mac', taskId: 't', chunk: 0, files: [{ sensor: 'stereoTop', path: e.data.path, sourcePath: '/a.bin', destinationPath: '/d/a.bin', size: e.data.size, mtimeMs: e.data.mtimeMs, checksum: 'x', checksumAlgorithm: 'MD5', uploadId: e.data.uploadId, attempt: 1 }],
      }));
    });
    const source = uploaded(1);
    await c.publish(source);
    await waitFor('the delivery', () => seen.length === 1, 10_000);
    expect(seen[0]!.uploadId).toBe(source.data.uploadId);
    const [out] = await waitFor('the handler\'s publish', async () => {
      const got = await drainQueue(AMQP_URL, c.topology.queue('ingestTransfers'));
      return got.length > 0 ? got : undefined;
    }, 10_000);
    const next = parseTraceparent(out!.properties.headers?.['traceparent']);
    expect(next!.traceId).toBe(seen[0]!.trace.traceId);
    expect(next!.spanId).not.toBe(seen[0]!.trace.spanId);
  });
});
