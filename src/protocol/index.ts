/** The wire protocol, version 1: the one module server, worker, SDK and load test share. */
export * from './errors';
export * from './limits';
export * from './messages';
export { savedSeqOf } from './saved';
export { entityProblem, jsonBytes, parseClientMessage, utf8Length, withinDepth } from './validate';
export type { ParseResult, Rejection } from './validate';
