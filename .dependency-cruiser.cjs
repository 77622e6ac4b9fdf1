/**
 * The architecture's rules, checked by `make lint` (and so by `make test`): dependency-cruiser reads the
 * TypeScript sources and fails on any import that breaks one. Workspace packages are matched by their
 * npm names (`@terra-transfer/...`), which is how every cross-package import is written.
 */
const SERVICES = 'batcher|cleaner|clowder-ingest|clowder-sim|directory-source|globus-sim|lemnatec-source|log-tailer|transfer-log|watcher';
// Code that ships in the image: every src/ file except tests, in services and in the packages the image keeps.
const SHIPPED = '^(services/[^/]+|packages/(?!stack/|testkit/)[^/]+)/src/';
const TESTS = '\\.test\\.ts$';
// An npm package by name, bare (unresolved) or as resolved under node_modules (pnpm's .pnpm store included).
const npm = (names) => [`^(${names})($|/)`, `(^|/)node_modules/(${names})/`];

module.exports = {
  forbidden: [
    {
      name: 'no-service-imports-another-service',
      comment: 'Services talk over the broker and HTTP only; shared code lives in packages/.',
      severity: 'error',
      from: { path: '^services/([^/]+)/' },
      to: { path: [`^services/`, `^@terra-transfer/(${SERVICES})($|/)`], pathNot: ['^services/$1/'] },
    },
    {
      name: 'packages-never-import-services',
      comment: 'A package is shared by services; it cannot depend on one.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: [`^services/`, `^@terra-transfer/(${SERVICES})($|/)`] },
    },
    {
      name: 'no-testkit-in-shipped-code',
      comment: 'testkit and stack are test equipment (removed from the image); production code must not import them.',
      severity: 'error',
      from: { path: SHIPPED, pathNot: TESTS },
      to: { path: ['^@terra-transfer/(testkit|stack)($|/)', '^packages/(testkit|stack)/'] },
    },
    {
      name: 'clients-without-service-plumbing',
      comment:
        'The Globus and Clowder clients speak HTTP only: no broker, Redis, HTTP server, ledger or contracts ' +
        '(platform is allowed for its error classes, settings and metrics).',
      severity: 'error',
      from: { path: '^packages/(globus|clowder)/src/', pathNot: TESTS },
      // A type-only import (the Redis type a caller's client is passed as) vanishes at run time.
      to: {
        dependencyTypesNot: ['type-only'],
        path: [...npm('amqplib|ioredis|fastify|@fastify/[^/]+'), '^@terra-transfer/(contracts|ledger|sites|site-layout|xferlog|cli)($|/)', '^packages/(contracts|ledger|sites|site-layout|xferlog|cli)/'],
      },
    },
    {
      name: 'core-is-pure',
      comment: 'core/ holds pure functions: no I/O libraries, no adapters.',
      severity: 'error',
      from: { path: '/src/core/', pathNot: TESTS },
      to: {
        dependencyTypesNot: ['type-only'],
        path: [...npm('amqplib|ioredis|fastify|got|pg|sharp'), '^(node:)?(fs|fs/promises|net|http|https|child_process|dgram)$', '/src/adapters/'],
      },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make start-up order fragile (a module sees another half-initialised). Type-only imports vanish at run time and do not count.',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'relative-imports-resolve',
      comment: 'A relative import that does not resolve is a typo or a deleted file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: '^\\.' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed, but kept as the target of a dependency so the rules on npm packages see it.
    exclude: { path: ['(^|/)dist/', '(^|/)dist-bench/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.tests.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'] },
  },
};
