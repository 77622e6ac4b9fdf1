import { ConfigError, env, loadConfig } from './config.js';

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
  RULES: env.json<Record<string, string>>('rules', (v) => (typeof v === 'object' && v && !Array.isArray(v) ? undefined : 'must be an object'), { default: {} }),
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
