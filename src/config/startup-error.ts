/** A configuration that cannot run: the process prints the message and exits 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * Another process already serves this single-process configuration (it holds
 * the port or the lease). Under pm2 this process waits as a standby and
 * takes over when that one stops.
 */
export class SingleProcessBusyError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'SingleProcessBusyError';
  }
}
