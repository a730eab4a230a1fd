/**
 * The value formats of the schema, registered on convict once when the
 * schema is first imported.
 */
import convict from 'convict';
import { accessSync, constants } from 'node:fs';

/**
 * Strict boolean for flags: `true`/`false`/`1`/`0` only. convict's own Boolean
 * coercion turns any unknown word into `true`, which would silently switch a
 * Redis service on for a typo such as `USE_REDIS_WEBSOCKETS=ture`.
 */
convict.addFormat({
  name: 'flag',
  validate(value: unknown) {
    if (typeof value !== 'boolean') throw new Error('must be true or false (or 1 or 0)');
  },
  coerce(value: unknown) {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === '') return false;
    return value;
  },
});

convict.addFormat({
  name: 'positive-int',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error('must be a whole number of at least 1');
    }
  },
  coerce: (value: unknown) => (typeof value === 'string' && value !== '' ? Number(value) : value),
});

convict.addFormat({
  name: 'host-port-list',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a comma-separated host:port list');
    if (value === '') return;
    for (const part of value.split(',')) {
      if (!/^[^\s:,]+:\d{1,5}$/.test(part.trim())) {
        throw new Error(`must be a comma-separated host:port list; "${part}" is not host:port`);
      }
    }
  },
});

convict.addFormat({
  name: 'idle-timeout',
  validate(value: unknown) {
    // uWebSockets.js aborts the process for 1-7 and above 960 seconds.
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      !(value === 0 || (value >= 8 && value <= 960))
    ) {
      throw new Error('must be 0 (no timeout) or a whole number of seconds from 8 to 960');
    }
  },
  coerce: (value: unknown) => (typeof value === 'string' && value !== '' ? Number(value) : value),
});

convict.addFormat({
  name: 'readable-file',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a file path');
    if (value === '') return;
    try {
      accessSync(value, constants.R_OK);
    } catch {
      throw new Error(`cannot read the file "${value}": give the path of a readable PEM file`);
    }
  },
});
