import { describe, expect, it } from 'vitest';
import { LateUpgrades } from '../../src/gateway/late-upgrade';

/** A socket that records what touched it while uWS still held the cork. */
class FakeSocket {
  constructor(
    readonly id: number,
    private readonly uws: FakeUws,
  ) {}
  subscribe(): void {
    this.uws.touched('subscribe');
  }
  send(): void {
    this.uws.touched('send');
  }
}

/**
 * uWS's late upgrade, as far as the gateway sees it: the corked upgrade
 * calls the route's open handler at once, and after the callback uWS reads
 * the HTTP state again, where it may close the socket (calling the close
 * handler) before the cork returns.
 */
class FakeUws {
  readonly touchedInCork: string[] = [];
  private corked = false;

  constructor(
    private readonly upgrades: LateUpgrades<FakeSocket>,
    private readonly closeInsideCork = false,
  ) {}

  touched(what: string): void {
    if (this.corked) this.touchedInCork.push(what);
  }

  corkedUpgrade(id: number): () => void {
    return () => {
      this.corked = true;
      this.upgrades.open(new FakeSocket(id, this));
      if (this.closeInsideCork) this.upgrades.closedBeforeStart();
      this.corked = false;
    };
  }
}

describe('a late upgrade', () => {
  it('starts the connection once the cork returned, with nothing touched inside it', () => {
    const started: number[] = [];
    const upgrades = new LateUpgrades<FakeSocket>((socket) => {
      socket.subscribe();
      socket.send();
      started.push(socket.id);
    });
    const uws = new FakeUws(upgrades);
    upgrades.upgrade(uws.corkedUpgrade(1), () => expect.unreachable('nothing to give back'));
    expect(started).toEqual([1]);
    expect(uws.touchedInCork).toEqual([]);
  });

  it('gives back what it took, and starts nothing, when uWS closed the socket inside the cork', () => {
    let abandoned = 0;
    const upgrades = new LateUpgrades<FakeSocket>(() =>
      expect.unreachable('a closed socket must not be started'),
    );
    upgrades.upgrade(new FakeUws(upgrades, true).corkedUpgrade(2), () => abandoned++);
    expect(abandoned).toBe(1);
  });

  it('does not carry a close inside one cork over to the next upgrade', () => {
    const started: number[] = [];
    const upgrades = new LateUpgrades<FakeSocket>((socket) => started.push(socket.id));
    upgrades.upgrade(new FakeUws(upgrades, true).corkedUpgrade(3), () => undefined);
    upgrades.upgrade(new FakeUws(upgrades).corkedUpgrade(4), () => expect.unreachable('open'));
    expect(started).toEqual([4]);
  });
});
