import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStoreLock } from '../../src/services/document-store/embedded-lock';
import { SingleProcessBusyError } from '../../src/config/startup-error';

describe('embedded store lock', () => {
  let dir: string;
  let dataDir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flow-lock-'));
    dataDir = path.join(dir, 'documents');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses while another live process holds the directory', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      writeFileSync(`${dataDir}.lock`, String(other.pid));
      expect(() => EmbeddedStoreLock.acquire(dataDir)).toThrow(SingleProcessBusyError);
      expect(() => EmbeddedStoreLock.acquire(dataDir)).toThrow(
        new RegExp(`open in process ${other.pid}`),
      );
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a process that is gone, and removes it on release', async () => {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(`${dataDir}.lock`, String(gone.pid));
    const lock = EmbeddedStoreLock.acquire(dataDir);
    expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
    lock.release();
    lock.release();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    EmbeddedStoreLock.acquire(dataDir).release();
  });
});
