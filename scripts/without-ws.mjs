/**
 * The SDK loads `ws` only where there is no global WebSocket, which a browser
 * always has: there `ws` becomes a stub that says what to do instead.
 */
export const withoutWs = {
  name: 'without-ws',
  setup(builder) {
    builder.onResolve({ filter: /^ws$/ }, () => ({ path: 'ws', namespace: 'without-ws' }));
    builder.onLoad({ filter: /.*/, namespace: 'without-ws' }, () => ({
      contents:
        "module.exports = { get WebSocket() { throw new Error('this environment has no WebSocket; pass the WebSocket option to FlowClient'); } };",
      loader: 'js',
    }));
  },
};
