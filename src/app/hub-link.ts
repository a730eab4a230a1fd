import type { ApplyOutcome } from '../document/op-submission';
import type { GatewayHub } from '../realtime/hub';
import type { GatewayHooks } from './services';

/**
 * The services' calls into the gateway's hub. The services are built first
 * (the hub needs them), so this is the one place that holds the hub once it
 * exists. Calls before that are dropped: no member can be waiting for them
 * before the gateway serves.
 */
export class HubLink implements GatewayHooks {
  private hub: GatewayHub | undefined;

  attach(hub: GatewayHub): void {
    this.hub = hub;
  }

  // Arrow functions: the services keep these as callbacks, apart from this object.
  readonly onWebSocketsReconnected = (): void => {
    this.hub?.refreshAll();
  };

  readonly onLocalOutcomes = (doc: string, outcomes: ApplyOutcome[]): void => {
    this.hub?.localOutcomes(doc, outcomes);
  };
}
