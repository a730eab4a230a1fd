/**
 * The `default` of a switch over a union (op kinds, message types): it
 * compiles only while every member has its case, so a new op type or message
 * type is a compile error in each place that must handle it.
 */
export function unhandled(value: never, what: string): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
