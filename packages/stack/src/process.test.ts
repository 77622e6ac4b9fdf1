import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, waitFor } from '@terra-transfer/testkit';
import { ServiceProcess } from './process.js';

describe('ServiceProcess', () => {
  it('tells an exit the process made on its own from a kill -9 or a stop the harness made', async () => {
    const dir = await tempDir('proc');
    try {
      const entry = join(dir.path, 'svc.mjs');
      // Exits with 3 after EXIT_AFTER_MS, or runs until signalled.
      await writeFile(entry, "console.log('up'); const ms = Number(process.env.EXIT_AFTER_MS); setTimeout(() => { console.log('giving up'); process.exit(3); }, ms || 1e9);\n");
      const p = new ServiceProcess('svc', entry, {});
      p.start();
      await waitFor('output', () => p.output().includes('up'));
      await p.kill9();
      p.start();
      await p.stop();
      expect(p.ownExits).toEqual([]);
      let seen = 0;
      p.onOwnExit = () => seen++;
      p.start({ EXIT_AFTER_MS: '100' });
      expect(await p.exited()).toBe(3);
      await waitFor('own exit noted', () => seen === 1);
      expect(p.ownExits).toMatchObject([{ code: 3, signal: null }]);
      expect(p.ownExits[0]!.tail).toContain('giving up');
    } finally {
      await dir.remove();
    }
  });
});
