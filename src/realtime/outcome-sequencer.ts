import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics';
import type { EventRecord } from '../protocol';
import type { CollaborationService } from '../services/collaboration/collaboration-service';
import type { ApplyOutcome } from '../document/op-submission';

export type Applied = Extract<ApplyOutcome, { kind: 'applied' }>;
export type Duplicate = Extract<ApplyOutcome, { kind: 'duplicate' }>;
export type Rejected = Extract<ApplyOutcome, { kind: 'rejected' }>;

/** Where a sequencer sends what it has put in order. */
export interface SequencerSink {
  /** Called in seq order, each seq once, without gaps. */
  deliver(outcome: Applied): void;
  /** A duplicate, once the event it names has been delivered. */
  acknowledge(outcome: Duplicate): void;
  reject(outcome: Rejected): void;
  /** After a run of deliveries. */
  advanced(): void;
  /** The history cannot fill a gap, or the epoch changed: start over from a snapshot. */
  reset(reason: string): Promise<void>;
  /** Whether anyone still listens (recovery stops when not). */
  active(): boolean;
  /** The event delivered at `seq`, when still remembered. */
  deliveredAt(seq: number): { client: string; cseq: number } | undefined;
}

/** Pause between history reads while a gap's missing event is not visible yet. */
const RECOVERY_RETRY_MS = 20;
const RECOVERY_MAX_ATTEMPTS = 100;

/**
 * Turns a document's broadcasts, which may arrive late, twice or not at all,
 * into one gap-free stream in seq order. A gap is filled from the history;
 * an outcome seen again is dropped. Pub/sub is at most once, so this is what
 * makes delivery exactly once and in order.
 */
export class OutcomeSequencer {
  epoch: string | null = null;
  seq = 0;
  /** Outcomes that arrived before the first join told us the epoch and seq. */
  private early: ApplyOutcome[] = [];
  /** Applied outcomes beyond seq + 1, waiting for the gap before them to fill. */
  private readonly ahead = new Map<number, Applied>();
  /** Duplicates that name a seq not delivered yet. */
  private heldDuplicates: Duplicate[] = [];
  private recoverTarget = 0;
  private recovering = false;

  constructor(
    private readonly doc: string,
    private readonly collaboration: CollaborationService,
    private readonly sink: SequencerSink,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Sets the baseline (the first join's seq), then plays what arrived before it. */
  start(epoch: string, seq: number): void {
    this.restart(epoch, seq);
    const early = this.early;
    this.early = [];
    for (const outcome of early) this.accept(outcome);
  }

  /** A new baseline after a reset: everything pending is void. */
  restart(epoch: string, seq: number): void {
    this.epoch = epoch;
    this.seq = seq;
    this.ahead.clear();
    this.recoverTarget = 0;
  }

  accept(outcome: ApplyOutcome): void {
    if (this.epoch === null) {
      this.early.push(outcome);
      return;
    }
    switch (outcome.kind) {
      case 'rejected':
        this.sink.reject(outcome);
        return;
      case 'duplicate':
        if (outcome.epoch === this.epoch && outcome.seq !== null && outcome.seq > this.seq) {
          // Its event may have been lost on the way here: fetch it before acking.
          this.heldDuplicates.push(outcome);
          this.recover(outcome.seq);
        } else {
          this.sink.acknowledge(outcome);
        }
        return;
      case 'applied':
        if (outcome.epoch !== this.epoch) {
          void this.sink.reset('epoch changed');
          return;
        }
        if (outcome.seq <= this.seq) {
          // Seen before: a late or repeated broadcast, unless another op now
          // holds that seq. That happens only when Redis lost history (a
          // failover behind a lagging replica): start over from the server's
          // state rather than keep clients on one that no longer exists.
          const seen = this.sink.deliveredAt(outcome.seq);
          if (seen && (seen.client !== outcome.client || seen.cseq !== outcome.cseq)) {
            this.log.error(
              { doc: this.doc, seq: outcome.seq },
              'the document history went back (Redis lost acknowledged writes); members resync from a snapshot',
            );
            void this.sink.reset('history regressed');
          }
          return;
        }
        if (outcome.seq === this.seq + 1) {
          this.deliver(outcome);
          this.advance();
        } else {
          this.ahead.set(outcome.seq, outcome);
          this.metrics.gaps.inc();
          this.recover(outcome.seq - 1);
        }
        return;
    }
  }

  private deliver(outcome: Applied): void {
    this.seq = outcome.seq;
    this.sink.deliver(outcome);
  }

  private advance(): void {
    for (let next = this.ahead.get(this.seq + 1); next; next = this.ahead.get(this.seq + 1)) {
      this.ahead.delete(next.seq);
      this.deliver(next);
    }
    if (this.heldDuplicates.length > 0) {
      const ready = this.heldDuplicates.filter((d) => (d.seq ?? 0) <= this.seq);
      this.heldDuplicates = this.heldDuplicates.filter((d) => (d.seq ?? 0) > this.seq);
      for (const duplicate of ready) this.sink.acknowledge(duplicate);
    }
    this.sink.advanced();
  }

  /** Delivers the contiguous events of `events` that follow the current seq. */
  private deliverHistory(epoch: string, events: EventRecord[]): void {
    for (const event of events) {
      if (event.seq !== this.seq + 1) continue;
      this.ahead.delete(event.seq);
      this.deliver({ kind: 'applied', doc: this.doc, epoch, ...event });
    }
    this.advance();
  }

  /** Reads the history until the stream has reached `target`. */
  recover(target: number): void {
    this.recoverTarget = Math.max(this.recoverTarget, target);
    if (this.recovering || this.epoch === null) return;
    this.recovering = true;
    void this.runRecovery().finally(() => {
      this.recovering = false;
    });
  }

  private async runRecovery(): Promise<void> {
    let idle = 0;
    while (this.seq < this.recoverTarget && this.sink.active() && this.epoch !== null) {
      const epoch = this.epoch;
      let events: EventRecord[] | null;
      try {
        events = await this.collaboration.eventsAfter(this.doc, epoch, this.seq);
      } catch (err) {
        this.log.warn({ doc: this.doc, err }, 'history read failed during gap recovery; retrying');
        events = [];
      }
      if (epoch !== this.epoch) return;
      if (events === null) {
        this.metrics.recoveries.inc({ result: 'snapshot' });
        await this.sink.reset('history no longer holds the gap');
        return;
      }
      const before = this.seq;
      this.deliverHistory(epoch, events);
      if (this.seq > before) {
        idle = 0;
        this.metrics.recoveries.inc({ result: 'history' });
      } else if (++idle > RECOVERY_MAX_ATTEMPTS) {
        this.log.error(
          { doc: this.doc, seq: this.seq, target: this.recoverTarget },
          'gap recovery gave up; resyncing members from a snapshot',
        );
        await this.sink.reset('gap could not be recovered');
        return;
      } else {
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS));
      }
    }
  }

  /**
   * Reads the history once for events not seen: after the pub/sub
   * connection came back, or when an op stays unacked (its event, the last
   * so far, may have been lost, and no later event would reveal the gap).
   */
  async refresh(): Promise<void> {
    if (this.epoch === null || this.recovering || !this.sink.active()) return;
    const epoch = this.epoch;
    const events = await this.collaboration.eventsAfter(this.doc, epoch, this.seq);
    if (epoch !== this.epoch) return;
    if (events !== null) {
      this.deliverHistory(epoch, events);
      return;
    }
    const head = await this.collaboration.snapshot(this.doc);
    // Null also means "nothing beyond seq": only a real change warrants a reset.
    if (head && (head.epoch !== this.epoch || head.seq > this.seq))
      await this.sink.reset('history moved on');
  }
}
