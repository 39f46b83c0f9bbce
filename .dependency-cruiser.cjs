/**
 * The dependency rule of DESIGN.md, enforced on every `npm test`:
 *   apps/*  ──▶  packages/<adapter>  ──▶  packages/core
 */
const INFRA =
  '(^|/)node_modules/(fastify|dockerode|drizzle-orm|drizzle-kit|bullmq|pino|pino-pretty|ioredis|postgres|http-proxy|acme-client)/|^(node:)?child_process$';

module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'packages/core holds entities, state machines, ports and errors: no infrastructure libraries.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: INFRA },
    },
    {
      name: 'core-imports-no-package',
      comment: 'core is the bottom of the graph.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '^(packages/(?!core/)|apps/)' },
    },
    {
      name: 'adapters-do-not-import-each-other',
      comment: 'An adapter may use core only; wiring happens in apps/*.',
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/([^/]+)/', pathNot: ['^packages/core/', '^packages/$1/'] },
    },
    {
      name: 'packages-do-not-import-apps',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-do-not-import-each-other',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'cli-talks-rest-only',
      comment: 'pier CLI is a thin REST client: no database, queue or Docker access.',
      severity: 'error',
      from: { path: '^apps/cli/' },
      to: { path: '^packages/(db|docker|queue|builder|proxy|acme)/' },
    },
    {
      name: 'dashboard-talks-rest-only',
      comment:
        'The dashboard runs in the browser and is a client of the REST API only: no package of the server (packages/client is shared by the clients).',
      severity: 'error',
      from: { path: '^apps/dashboard/' },
      to: { path: '^packages/(?!client/)' },
    },
    {
      name: 'client-package-imports-nothing',
      comment:
        'packages/client runs in Node.js (the CLI) and in browsers (the dashboard): it imports nothing, not even node: modules.',
      severity: 'error',
      from: { path: '^packages/client/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^packages/client/' },
    },
    {
      name: 'api-has-no-docker',
      comment:
        'The api reads logs and state from Postgres only and never holds a Docker socket: it imports neither packages/docker nor dockerode.',
      severity: 'error',
      from: { path: '^apps/api/' },
      to: { path: ['^packages/docker/', '(^|/)node_modules/(dockerode|docker-modem)/'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
