/** What one client may send, and how much a gateway buffers for it. */
export const limitsSchema = {
  maxPayloadBytes: {
    doc: 'Largest WebSocket frame a client may send, in bytes; larger closes with 1009.',
    format: 'positive-int',
    default: 65536,
    env: 'WS_MAX_PAYLOAD_BYTES',
  },
  maxBackpressureBytes: {
    doc: 'Bytes queued for a client before it is closed with 1013 (it cannot keep up).',
    format: 'positive-int',
    default: 1048576,
    env: 'WS_MAX_BACKPRESSURE_BYTES',
  },
  idleTimeoutSeconds: {
    doc: 'Seconds without traffic before a connection is closed (the server pings before that).',
    format: 'idle-timeout',
    default: 120,
    env: 'WS_IDLE_TIMEOUT',
  },
  messagesPerSecond: {
    doc: 'Messages per second a connection may send (sustained); more are answered RATE_LIMITED.',
    format: 'positive-int',
    default: 1000,
    env: 'LIMIT_MESSAGES_PER_SECOND',
  },
  messageBurst: {
    doc: 'Messages a connection may send at once above its sustained rate.',
    format: 'positive-int',
    default: 2000,
    env: 'LIMIT_MESSAGE_BURST',
  },
  presencePerSecond: {
    doc: 'Presence updates per second a connection may send; more are dropped with RATE_LIMITED.',
    format: 'positive-int',
    default: 30,
    env: 'LIMIT_PRESENCE_PER_SECOND',
  },
  joinsPerSecond: {
    doc: 'Joins and leaves per second a connection may send (sustained, with a burst of LIMIT_DOCS_PER_CONNECTION so that a reconnect can re-join everything); more are answered RATE_LIMITED.',
    format: 'positive-int',
    default: 20,
    env: 'LIMIT_JOINS_PER_SECOND',
  },
  newDocsPerMinute: {
    doc: "Documents nobody has edited yet (a join that finds the document empty, at seq 0) one user may open per minute on one gateway (the user is the token's sub, or the client id without authentication); more joins are answered RATE_LIMITED and leave nothing behind.",
    format: 'positive-int',
    default: 60,
    env: 'LIMIT_NEW_DOCS_PER_MINUTE',
  },
  docMaxBytes: {
    doc: 'Largest state of one document, in bytes of its JSON; an op that would take a document past it is refused with TOO_LARGE and nothing changes.',
    format: 'positive-int',
    default: 4194304,
    env: 'DOC_MAX_BYTES',
  },
  docsPerConnection: {
    doc: 'Documents one connection may have joined at once.',
    format: 'positive-int',
    default: 100,
    env: 'LIMIT_DOCS_PER_CONNECTION',
  },
};
