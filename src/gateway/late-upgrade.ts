/**
 * Upgrades that complete after an await (the token check, the client id
 * claim) go through `res.cork`, as uWS requires. When the cork callback
 * returns, uWS reads the HTTP state of the socket from memory that the
 * upgrade has already handed, in place, to the WebSocket; if the byte found
 * there reads "Connection: close, nothing pending", uWS closes the new
 * WebSocket at once: its client gets the welcome, then 1006. The byte the
 * HTTP request left there is harmless for a valid handshake (the upgrade
 * handler refuses one without "Connection: Upgrade"); allocations made while
 * the cork is open, by an open handler that subscribes the socket or sends
 * to it, could overwrite it. So `open` only notes the socket, and the
 * connection starts once the cork has returned, in the same turn of the
 * event loop (no frame of the client can be read in between).
 */
export class LateUpgrades<Socket> {
  private opened: Socket | undefined;
  private closedInCork = false;

  /** `start` sets a connection up: the first code that may subscribe or send on its socket. */
  constructor(private readonly start: (socket: Socket) => void) {}

  /** The route's open handler: touches nothing of the socket. */
  open(socket: Socket): void {
    this.opened = socket;
  }

  /** The route's close handler, for a socket that was never started: uWS closed it inside the cork. */
  closedBeforeStart(): void {
    this.closedInCork = true;
  }

  /**
   * Runs `corkedUpgrade` (res.upgrade inside res.cork), then starts the
   * socket it opened; calls `abandon` instead when uWS closed it meanwhile.
   */
  upgrade(corkedUpgrade: () => void, abandon: () => void): void {
    this.opened = undefined;
    this.closedInCork = false;
    corkedUpgrade();
    const socket = this.opened;
    const closed = this.closedInCork;
    this.opened = undefined;
    this.closedInCork = false;
    if (socket === undefined || closed) abandon();
    else this.start(socket);
  }
}
