import { unhandled } from '../protocol/exhaustive';
import { submitterKey, type OpSubmission } from '../document/op-submission';

/**
 * One op message in the argument layout of the apply scripts (apply-6's ARGV,
 * and each job of a document's ordering queue, which take-apply-12 applies
 * without parsing ops): submitter (client id, or client id TAB user with
 * authentication: submitterKey), cseq, ops JSON (kept in the history), number
 * of ops, then per op 'set', field, value JSON | 'del', field | 'patch',
 * field, n, then n pairs (key as JSON string, value JSON or '' for null).
 * The entity texts are JSON.stringify output.
 */
export function pushSubmission(args: Array<string | number>, sub: OpSubmission): void {
  args.push(
    submitterKey(sub.client, sub.user),
    String(sub.cseq),
    JSON.stringify(sub.ops),
    sub.ops.length,
  );
  for (const op of sub.ops) {
    const field = entityField(op.coll, op.id);
    switch (op.op) {
      case 'set':
        args.push('set', field, JSON.stringify(op.value));
        break;
      case 'del':
        args.push('del', field);
        break;
      case 'patch': {
        const fields = Object.entries(op.fields);
        args.push('patch', field, fields.length);
        for (const [key, value] of fields)
          args.push(JSON.stringify(key), value === null ? '' : JSON.stringify(value));
        break;
      }
      default:
        unhandled(op, 'op kind');
    }
  }
}

/** The state hash field of an entity. Collection names cannot contain `/`. */
export function entityField(coll: string, id: string): string {
  return `${coll}/${id}`;
}
