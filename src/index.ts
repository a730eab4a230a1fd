/**
 * Flow Realtime as a library: start a process of any role from code, with a
 * configuration read from an environment object. The client SDK is
 * `flow-realtime/client`; the wire protocol is `flow-realtime/protocol`.
 */
export { startFlow, type FlowProcess, type Role, type StartOptions } from './app/flow-process';
export { ConfigError, configFrom, describeConfig, loadConfig, type FlowConfig } from './config';
export * as protocol from './protocol';
