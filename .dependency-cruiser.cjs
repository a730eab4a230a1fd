/**
 * The import rules of src/, checked by `npm run lint` (depcruise). The
 * layers, top to bottom; an import may only point down or stay in its room:
 *
 *   entry        src/cli.ts, src/index.ts, src/app/      composes the roles
 *   roles        src/gateway/ (with src/auth/), src/worker/
 *   realtime     src/realtime/                            members, feeds, sequencing
 *   services     src/services/<service>/                  one folder per service
 *   platform     src/redis/, src/observability/           (observability below redis)
 *   foundation   src/document/, src/protocol/, src/config/
 *
 * Beside them, importing only the foundation's protocol/ and document/:
 * the SDK (src/client/), the load tester (src/loadtest/, which may also use
 * the SDK) and the browser demo (src/demo/, which may also use the SDK).
 * Only src/config reads process.env: eslint's no-restricted-syntax checks it.
 */

/** Folders of src/ above each layer; a layer may not import them. */
const ABOVE_ROLES = '^src/(app/|cli\\.ts|index\\.ts)';
const ABOVE_REALTIME = '^src/(app/|cli\\.ts|index\\.ts|gateway/|auth/|worker/)';
const ABOVE_SERVICES = '^src/(app/|cli\\.ts|index\\.ts|gateway/|auth/|worker/|realtime/)';
const ABOVE_PLATFORM = `${ABOVE_SERVICES}|^src/services/`;
const ABOVE_FOUNDATION = `${ABOVE_PLATFORM}|^src/(redis|observability)/`;
/** What no server code imports: the SDK, the load tester, the demo. */
const CLIENT_SIDE = '^src/(client|loadtest|demo)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle makes two modules one: neither can be read, tested or moved alone.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'roles-not-entry',
      comment: 'The gateway and the worker are started by the entry; they never import it.',
      severity: 'error',
      from: { path: '^src/(gateway|auth|worker)/' },
      to: { path: ABOVE_ROLES },
    },
    {
      name: 'gateway-and-worker-apart',
      comment: 'The two roles share code only through the layers below them.',
      severity: 'error',
      from: { path: '^src/(gateway|auth)/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'worker-not-gateway',
      comment: 'The two roles share code only through the layers below them.',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/(gateway|auth)/' },
    },
    {
      name: 'realtime-below-roles',
      comment: 'The realtime core knows no transport and no role: it sees the socket interface.',
      severity: 'error',
      from: { path: '^src/realtime/' },
      to: { path: ABOVE_REALTIME },
    },
    {
      name: 'services-below-realtime',
      comment:
        'Services are swappable backends; they never import app/, a role or the realtime core.',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: ABOVE_SERVICES },
    },
    {
      name: 'services-not-observability',
      comment:
        'Services report through their callers (return values, errors), not through metrics.',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: '^src/observability/' },
    },
    {
      name: 'services-apart',
      comment:
        'No service imports another: their shared types live in document/ or protocol/, and the code that uses two services is above them.',
      severity: 'error',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/', pathNot: '^src/services/$1/' },
    },
    {
      name: 'platform-below-services',
      comment: 'Redis and observability serve every layer above; they know none of it.',
      severity: 'error',
      from: { path: '^src/(redis|observability)/' },
      to: { path: ABOVE_PLATFORM },
    },
    {
      name: 'observability-below-redis',
      comment: 'Redis connections report to the logger and metrics; metrics never import Redis.',
      severity: 'error',
      from: { path: '^src/observability/' },
      to: { path: '^src/redis/' },
    },
    {
      name: 'foundation-at-the-bottom',
      comment: 'The document model, the protocol and the config import nothing above them.',
      severity: 'error',
      from: { path: '^src/(document|protocol|config)/' },
      to: { path: ABOVE_FOUNDATION },
    },
    {
      name: 'server-not-client-side',
      comment: 'Server code never imports the SDK, the load tester or the demo.',
      severity: 'error',
      from: { path: '^src/', pathNot: CLIENT_SIDE },
      to: { path: CLIENT_SIDE },
    },
    {
      name: 'sdk-only-protocol-and-document',
      comment: 'The SDK ships to browsers and other apps: it may use only protocol/ and document/.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(client|protocol|document)/' },
    },
    {
      name: 'loadtest-only-protocol-document-sdk',
      comment: 'The load tester drives the server from outside, as a client would.',
      severity: 'error',
      from: { path: '^src/loadtest/' },
      to: { path: '^src/', pathNot: '^src/(loadtest|client|protocol|document)/' },
    },
    {
      name: 'demo-only-protocol-document-sdk',
      comment: 'The browser demo runs in a page: only the SDK and what the SDK uses.',
      severity: 'error',
      from: { path: '^src/demo/' },
      to: { path: '^src/', pathNot: '^src/(demo|client|protocol|document)/' },
    },
    {
      name: 'only-gateway-imports-uws',
      comment: 'uWebSockets.js stays behind the socket interface (realtime/client-socket.ts).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/gateway/' },
      to: { path: 'uWebSockets\\.js' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
