import { Type } from '@sinclair/typebox';
import { ConfigError, describeConfig, env, loadConfig, notAbove, optional } from './config.js';
import { testHook } from './test-hooks.js';

const spec = {
  PORT: env.int('port', { min: 1, max: 65535 }),
  NAME: env.string('name', { default: 'x' }),
  RATE: env.number('rate', { default: 1.5, min: 0 }),
  ON: env.bool('flag', { default: false }),
  URL: env.url('url', { protocols: ['amqp'] }),
  MODE: env.enum(['a', 'b'] as const, 'mode', { default: 'a' }),
  ROOT: env.path('root', { default: '/data' }),
  LIST: env.list('list', { default: [] }),
  TOKEN: env.string('api token', { secret: true }),
  RULES: env.json(Type.Record(Type.String(), Type.String()), 'rules', { default: {} }),
  HOOK_URL: optional(env.url('a url that may be absent', { protocols: ['http'] })),
};

function problems(source: Record<string, string>): Record<string, string> {
  try {
    loadConfig(spec, source);
  } catch (err) {
    if (err instanceof ConfigError) return Object.fromEntries(err.problems.map((p) => [p.key, p.problem]));
    throw err;
  }
  return {};
}

describe('loadConfig', () => {
  it('parses, applies defaults and freezes', () => {
    const c = loadConfig(spec, { PORT: '8080', URL: 'amqp://h', TOKEN: 's3cret', ON: 'yes', LIST: 'a, b,,c', ROOT: '/x/', RULES: '{"a":"b"}' });
    expect(c).toMatchObject({ PORT: 8080, NAME: 'x', RATE: 1.5, ON: true, MODE: 'a', ROOT: '/x', LIST: ['a', 'b', 'c'], RULES: { a: 'b' } });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names every bad or missing key at once', () => {
    const p = problems({ PORT: '80x', URL: 'http://h', MODE: 'c', ON: 'maybe', ROOT: 'rel', RULES: '[1]' });
    expect(Object.keys(p).sort()).toEqual(['MODE', 'ON', 'PORT', 'ROOT', 'RULES', 'TOKEN', 'URL']);
    expect(p['PORT']).toMatch(/integer/);
    expect(p['TOKEN']).toMatch(/required/);
    expect(p['URL']).toMatch(/amqp/);
  });

  it('never echoes a secret value', () => {
    const secretSpec = { KEY: env.string('key', { secret: true, pattern: /^k-/ }) };
    try {
      loadConfig(secretSpec, { KEY: 'hunter2' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('optional settings', () => {
  it('are undefined when absent or empty, parsed and checked when set', () => {
    const base = { PORT: '1', URL: 'amqp://h', TOKEN: 't' };
    expect(loadConfig(spec, base).HOOK_URL).toBeUndefined();
    expect(loadConfig(spec, { ...base, HOOK_URL: '' }).HOOK_URL).toBeUndefined();
    expect(loadConfig(spec, { ...base, HOOK_URL: 'http://w:1' }).HOOK_URL).toBe('http://w:1');
    expect(problems({ ...base, HOOK_URL: '-' })['HOOK_URL']).toMatch(/must be a URL/);
  });

  it('say so in the description, and never take a default', () => {
    expect(describeConfig(spec)).toContain('HOOK_URL (url, optional)');
    expect(() => optional(env.string('x', { default: 'y' }))).toThrow(/no default/);
  });
});

describe('JSON settings', () => {
  const schemaSpec = { ITEMS: env.json(Type.Array(Type.Object({ name: Type.String(), size: Type.Integer({ minimum: 0 }) })), 'items') };

  it('return the value the schema accepts', () => {
    expect(loadConfig(schemaSpec, { ITEMS: '[{"name":"a","size":1}]' }).ITEMS).toEqual([{ name: 'a', size: 1 }]);
  });

  it('name the path and the problem the schema finds', () => {
    const p = (raw: string) => {
      try {
        loadConfig(schemaSpec, { ITEMS: raw });
      } catch (err) {
        return (err as ConfigError).problems[0]?.problem;
      }
      return undefined;
    };
    expect(p('[{"name":"a","size":-1}]')).toMatch(/\/0\/size/);
    expect(p('[{"size":1}]')).toMatch(/\/0\/name/);
    expect(p('{')).toBe('must be valid JSON');
  });
});

describe('testHook', () => {
  it('is off when unset, takes a known value, and rejects others as a ConfigError naming it', () => {
    expect(testHook('CRASH_AT', ['a', 'b'] as const, {})).toBeUndefined();
    expect(testHook('CRASH_AT', ['a', 'b'] as const, { CRASH_AT: 'b' })).toBe('b');
    expect(() => testHook('CRASH_AT', ['a', 'b'] as const, { CRASH_AT: 'c' })).toThrow(ConfigError);
    expect(() => testHook('CRASH_AT', ['a', 'b'] as const, { CRASH_AT: 'c' })).toThrow(/CRASH_AT \(test hook\)/);
  });
});

describe('cross checks', () => {
  it('report a setting that needs another, as a ConfigError naming it', () => {
    const s = { URL: optional(env.url('u')), TOKEN: optional(env.string('t', { secret: true })) };
    const needsToken = (c: { URL: string | undefined; TOKEN: string | undefined }) => (c.URL && !c.TOKEN ? [{ key: 'TOKEN', problem: 'is required when URL is set' }] : []);
    expect(loadConfig(s, {}, needsToken)).toEqual({ URL: undefined, TOKEN: undefined });
    expect(() => loadConfig(s, { URL: 'http://h' }, needsToken)).toThrow(/TOKEN is required when URL is set/);
    expect(loadConfig(s, { URL: 'http://h', TOKEN: 'x' }, needsToken).TOKEN).toBe('x');
  });
});

describe('notAbove', () => {
  it('names the lower setting when it exceeds the higher one', () => {
    const s = { MIN_MS: env.int('min', { default: 10 }), MAX_MS: env.int('max', { default: 100 }) };
    expect(loadConfig(s, { MIN_MS: '100' }, notAbove('MIN_MS', 'MAX_MS')).MIN_MS).toBe(100);
    expect(() => loadConfig(s, { MIN_MS: '101' }, notAbove('MIN_MS', 'MAX_MS'))).toThrow(/MIN_MS must be <= MAX_MS \(100\), got 101/);
  });
});
