import { ConfigError, loadConfig } from '../config.js';
import { platformSettings } from '../settings.js';
import { amqpUrls } from './client.js';

describe('AMQP_URL naming a cluster', () => {
  it('takes one URL or several separated by commas, each checked', () => {
    const c = loadConfig({ AMQP_URL: platformSettings.AMQP_URL }, { AMQP_URL: 'amqp://u:p@127.0.0.1:5701, amqp://u:p@127.0.0.1:5702,amqp://u:p@127.0.0.1:5703' });
    expect(amqpUrls(c.AMQP_URL)).toEqual(['amqp://u:p@127.0.0.1:5701', 'amqp://u:p@127.0.0.1:5702', 'amqp://u:p@127.0.0.1:5703']);
    expect(amqpUrls('amqp://127.0.0.1')).toEqual(['amqp://127.0.0.1']);
  });
  it('refuses a list with a bad member, naming the setting', () => {
    expect(() => loadConfig({ AMQP_URL: platformSettings.AMQP_URL }, { AMQP_URL: 'amqp://a:5672,http://b:5672' })).toThrow(ConfigError);
    expect(() => loadConfig({ AMQP_URL: platformSettings.AMQP_URL }, { AMQP_URL: 'amqp://a:5672,,nonsense' })).toThrow(ConfigError);
  });
});
