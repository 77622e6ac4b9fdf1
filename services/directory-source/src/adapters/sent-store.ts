import type { Redis } from 'ioredis';
import { decodeVersion, encodeVersion, type Version } from '../core/version.js';

/**
 * The durable record of what the source sent: one Redis hash per site,
 * field = path relative to the root, value = the version sent
 * (`<size>:<mtimeMs>`). Written only after the broker confirmed the event,
 * so it never claims a version that was not sent; read a chunk at a time,
 * so the process holds no per-file state beyond a chunk.
 */
export class SentStore {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    site: string,
  ) {
    this.key = `${prefix}:directory-source:${site}:sent`;
  }

  async versions(rels: readonly string[]): Promise<Array<Version | null>> {
    if (rels.length === 0) return [];
    const vals = await this.redis.hmget(this.key, ...rels);
    return vals.map((v) => decodeVersion(v));
  }

  async record(rel: string, v: Version): Promise<void> {
    await this.redis.hset(this.key, rel, encodeVersion(v));
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.key);
  }
}
