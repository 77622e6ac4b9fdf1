/**
 * The guard rails. The architecture rules of .dependency-cruiser.cjs (run over the real tree by `make lint`) each catch the
 * import they exist for: a small tree with one violation per rule is cruised with the project's own config,
 * and the tree as it is must have none.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '@terra-transfer/testkit';

const exec = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CRUISER = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function cruise(cwd: string, paths: string[]): Promise<Violation[]> {
  const run = await exec(process.execPath, [CRUISER, ...paths, '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
    // depcruise exits non-zero when it finds violations; its JSON is still on stdout.
    (err: { stdout?: string; stderr?: string }) => {
      if (!err.stdout) throw new Error(`dependency-cruiser failed: ${err.stderr ?? String(err)}`);
      return { stdout: err.stdout };
    },
  );
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const FIXTURE: Record<string, string> = {
  'tsconfig.tests.json': '{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext" } }',
  'services/a/src/main.ts': "import { y } from '../../b/src/y.js';\nexport const x = y;\n",
  'services/b/src/y.ts': 'export const y = 1;\n',
  'packages/p/src/index.ts': "import { y } from '../../../services/b/src/y.js';\nexport const p = y;\n",
  'services/a/src/uses-testkit.ts': "import { waitFor } from '@terra-transfer/testkit';\nexport const w = waitFor;\n",
  'services/a/src/uses-testkit.test.ts': "import { waitFor } from '@terra-transfer/testkit';\nexport const w = waitFor;\n",
  'packages/globus/src/client.ts': "import { Redis } from 'ioredis';\nexport const r = Redis;\n",
  // The same rule on a package that resolves (the real tree's imports all do, through pnpm's store), and a type-only import it allows.
  'node_modules/amqplib/package.json': '{ "name": "amqplib", "main": "index.js" }',
  'node_modules/amqplib/index.js': 'exports.connect = () => undefined;\n',
  'node_modules/amqplib/index.d.ts': 'export declare function connect(): void;\nexport interface Channel { x: 1 }\n',
  'packages/clowder/src/client.ts': "import { connect } from 'amqplib';\nimport type { Channel } from 'amqplib';\nexport const c = connect;\nexport type C = Channel;\n",
  'services/a/src/core/decide.ts': "import { readFileSync } from 'node:fs';\nexport const d = readFileSync;\n",
  'services/a/src/one.ts': "import { two } from './two.js';\nexport const one = () => two;\n",
  'services/a/src/two.ts': "import { one } from './one.js';\nexport const two = () => one;\n",
  'services/a/src/typed-one.ts': "import type { T2 } from './typed-two.js';\nexport type T1 = T2 | 1;\nexport const t1 = 1;\n",
  'services/a/src/typed-two.ts': "import { t1 } from './typed-one.js';\nexport type T2 = 2;\nexport const t2 = t1;\n",
  'services/a/src/typo.ts': "import { gone } from './deleted.js';\nexport const t = gone;\n",
};

it('each rule catches the import it exists for, and nothing else', async () => {
  const dir = await tempDir('depcruise');
  try {
    for (const [path, text] of Object.entries(FIXTURE)) {
      await mkdir(dirname(join(dir.path, path)), { recursive: true });
      await writeFile(join(dir.path, path), text);
    }
    const found = (await cruise(dir.path, ['services', 'packages'])).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual(
      [
        'clients-without-service-plumbing: packages/globus/src/client.ts -> ioredis',
        'clients-without-service-plumbing: packages/clowder/src/client.ts -> node_modules/amqplib/index.js',
        // depcruise reports a node: built-in by its bare name.
        'core-is-pure: services/a/src/core/decide.ts -> fs',
        // one report per cycle; the type-only cycle (typed-one <-> typed-two) is not one.
        'no-circular: services/a/src/one.ts -> services/a/src/two.ts',
        'no-service-imports-another-service: services/a/src/main.ts -> services/b/src/y.ts',
        'no-testkit-in-shipped-code: services/a/src/uses-testkit.ts -> @terra-transfer/testkit',
        'packages-never-import-services: packages/p/src/index.ts -> services/b/src/y.ts',
        'relative-imports-resolve: services/a/src/typo.ts -> ./deleted.js',
      ].sort(),
    );
  } finally {
    await dir.remove();
  }
}, 60_000);

it('the tree as it is breaks none of them', async () => {
  expect(await cruise(ROOT, ['services', 'packages', 'test'])).toEqual([]);
}, 120_000);

it('eslint finds nothing in the tree (typescript-eslint recommended, eslint.config.js)', async () => {
  const eslint = join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const run = await exec(process.execPath, [eslint, '--max-warnings', '0', '--format', 'json', '.'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string; stderr?: string }) => {
    if (!err.stdout) throw new Error(`eslint failed: ${err.stderr ?? String(err)}`);
    return { stdout: err.stdout };
  });
  const problems = (JSON.parse(run.stdout) as Array<{ filePath: string; messages: Array<{ line: number; ruleId: string | null; message: string }> }>).flatMap((f) =>
    f.messages.map((m) => `${f.filePath.slice(ROOT.length + 1)}:${m.line} ${m.ruleId ?? ''} ${m.message}`),
  );
  expect(problems).toEqual([]);
}, 180_000);

it('knip finds no unused file, export or dependency (knip.jsonc)', async () => {
  const knip = join(ROOT, 'node_modules', 'knip', 'bin', 'knip.js');
  const run = await exec(process.execPath, [knip, '--no-config-hints', '--no-progress'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
  expect(run).toEqual({ code: 0, out: '' });
}, 300_000);
