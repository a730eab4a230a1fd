import pino from 'pino';
import { configFrom } from '../../src/config';
import { Metrics } from '../../src/observability/metrics';
import { UnavailableError, type ClientMessage, type ServerMessage } from '../../src/protocol';
import type { ClientSocket } from '../../src/realtime/client-socket';
import type { ClientConnection } from '../../src/realtime/client-connection';
import { GatewayHub } from '../../src/realtime/hub';
import { MemoryCollaborationService } from '../../src/services/collaboration/collaboration.memory';
import { createDocumentProcessor } from '../../src/worker/document-processor';
import type {
  BatchProcessor,
  EventOrderingService,
} from '../../src/services/event-ordering/event-ordering-service';
import { MemoryEventOrderingService } from '../../src/services/event-ordering/event-ordering.memory';
import type { DocumentBroadcast } from '../../src/protocol/cluster-messages';
import { ClientIdGuard } from '../../src/realtime/client-id-guard';
import { MemoryClientIdRegistry } from '../../src/services/client-ids/client-ids.memory';
import { MemoryWebSocketManager } from '../../src/services/websocket-manager/websocket-manager.memory';
import { waitFor } from '../support/scenarios';

/** A socket that records every frame it was sent, topic fan-out included. */
export class RecordingSocket implements ClientSocket {
  readonly received: ServerMessage[] = [];
  readonly topics = new Set<string>();
  closed = false;
  /** performance.now() when the hub closed it. */
  closedAt: number | undefined;
  constructor(private readonly all: RecordingSocket[]) {
    all.push(this);
  }
  send(text: string): void {
    if (!this.closed) this.received.push(JSON.parse(text) as ServerMessage);
  }
  sendQueued(text: string): void {
    this.send(text);
  }
  subscribe(topic: string): void {
    this.topics.add(topic);
  }
  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }
  publishToOthers(topic: string, text: string): void {
    for (const socket of this.all)
      if (socket !== this && socket.topics.has(topic)) socket.send(text);
  }
  end(): void {
    this.closed = true;
    this.closedAt ??= performance.now();
  }
  checkBackpressure(): void {}
}

/** Fan-out in this process whose subscribes a test can make fail (pub/sub not connected). */
export class FaultyWebSockets extends MemoryWebSocketManager {
  failSubscribes = 0;
  subscribeCalls = 0;

  override async subscribe(
    doc: string,
    listener: (message: DocumentBroadcast) => void,
  ): Promise<void> {
    this.subscribeCalls++;
    if (this.failSubscribes > 0) {
      this.failSubscribes--;
      throw new UnavailableError('pub/sub is not connected; retry the join');
    }
    return super.subscribe(doc, listener);
  }
}

/** One gateway hub on in-memory services, with clients that record what they receive. */
export function startHub(
  vars: Record<string, string> = {},
  /** Replaces the in-memory ordering (which applies at once); given what applies ops. */
  makeOrdering?: (processor: BatchProcessor) => EventOrderingService,
) {
  const sockets: RecordingSocket[] = [];
  const config = configFrom({ LOG_LEVEL: 'silent', ...vars });
  const log = pino({ level: 'silent' });
  const collaboration = new MemoryCollaborationService({
    historyLength: 100,
    sessionTtlSeconds: 0,
  });
  const websockets = new FaultyWebSockets();
  const processor = createDocumentProcessor({ collaboration, websockets, log });
  const ordering: EventOrderingService =
    makeOrdering?.(processor) ?? new MemoryEventOrderingService(processor, 100, () => {});
  const broadcaster = {
    broadcast: (topic: string, text: string) => {
      for (const socket of sockets) if (socket.topics.has(topic)) socket.send(text);
    },
  };
  const hub = new GatewayHub({
    config,
    collaboration,
    ordering,
    websockets,
    broadcaster,
    clientIds: new ClientIdGuard(
      new MemoryClientIdRegistry({ retentionSeconds: 0 }),
      config.nodeId,
      log,
    ),
    metrics: new Metrics(false),
    log,
    role: 'gateway',
  });

  const connect = (client: string) => {
    const socket = new RecordingSocket(sockets);
    const connection: ClientConnection = hub.connect(socket, {
      client,
      user: null,
      grants: null,
    });
    let refs = 0;
    return {
      socket,
      connection,
      send(message: ClientMessage): void {
        connection.onText(JSON.stringify(message));
      },
      /** Sends with a fresh ref and waits for the reply that carries it. */
      async request(message: ClientMessage, timeoutMs = 5000): Promise<ServerMessage> {
        const ref = `r${++refs}`;
        connection.onText(JSON.stringify({ ...message, ref }));
        let reply: ServerMessage | undefined;
        await waitFor(
          () => (reply = socket.received.find((m) => 'ref' in m && m.ref === ref)) !== undefined,
          timeoutMs,
          `the reply to ${message.type}`,
        );
        return reply as ServerMessage;
      },
    };
  };

  return {
    hub,
    collaboration,
    websockets,
    connect,
    close: () => hub.close(1001, 'test over'),
  };
}
