/** Entry point of a load generator worker thread (started by runner.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { LoadGenerator } from './generator';
import type { GeneratorInput, ToThread } from './thread-protocol';

const port = parentPort;
if (!port) throw new Error('generator-thread runs as a worker thread of the load tester');

const generator = new LoadGenerator(workerData as GeneratorInput, (message, transfer) =>
  port.postMessage(message, transfer ?? []),
);
port.on('message', (message: ToThread) => generator.handle(message));
generator.start();
