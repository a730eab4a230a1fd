import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SingleProcessBusyError } from '../../config/startup-error';

/**
 * The embedded database is a directory that exactly one process may open:
 * two PGlite instances on one directory corrupt it. A lock file beside it,
 * holding the owner's pid, keeps a second process (a pm2 instance, a
 * `flow migrate` while the server runs) out. A lock whose process is gone
 * is stale and taken over.
 */
/** Lock files this process holds: its own pid in a file is stale only when it is not here. */
const heldHere = new Set<string>();

export class EmbeddedStoreLock {
  private held = false;

  private constructor(readonly file: string) {}

  static acquire(dataDir: string): EmbeddedStoreLock {
    const lock = new EmbeddedStoreLock(`${path.resolve(dataDir)}.lock`);
    mkdirSync(path.dirname(lock.file), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (heldHere.has(lock.file)) throw busy(dataDir, process.pid);
        writeFileSync(lock.file, String(process.pid), { flag: 'wx' });
        heldHere.add(lock.file);
        lock.held = true;
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number(readFileSync(lock.file, 'utf8').trim());
      // Our own pid in a lock we do not hold: left by an earlier life of a
      // process that got the same pid (pid 1 in a restarted container).
      if (owner !== process.pid && processAlive(owner)) throw busy(dataDir, owner);
      unlinkSync(lock.file);
    }
    throw new SingleProcessBusyError(`could not lock the embedded document store ${dataDir}`);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.file);
    try {
      if (Number(readFileSync(this.file, 'utf8').trim()) === process.pid) unlinkSync(this.file);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function busy(dataDir: string, owner: number): SingleProcessBusyError {
  return new SingleProcessBusyError(
    `the embedded document store ${dataDir} is open in process ${owner}; an embedded store ` +
      'serves one process: stop that one, or set DOCUMENT_STORE=postgres://... for several processes',
  );
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
