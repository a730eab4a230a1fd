import { describe, expect, it } from 'vitest';
import { laterSeen, parseWake } from '../../src/worker/wake-message';

describe('a wake-up message', () => {
  it("from a gateway names the document, its mark's score and the first job added", () => {
    expect(parseWake('doc-1 1765000000123 gw-7')).toEqual({
      doc: 'doc-1',
      handover: false,
      seen: { score: 1765000000123, job: 'gw-7' },
    });
  });

  it('from a stopping worker is a hand-over of the document', () => {
    expect(parseWake('!doc.a:b')).toEqual({ doc: 'doc.a:b', handover: true });
  });

  it('from a gateway of an earlier release is the bare document id: nothing is assumed of its mark', () => {
    expect(parseWake('doc-1')).toEqual({ doc: 'doc-1', handover: false });
    expect(parseWake('doc-1 not-a-score job')).toEqual({ doc: 'doc-1', handover: false });
  });

  it('heard twice before its turn: the later score, the earlier (older) job', () => {
    expect(laterSeen({ score: 1, job: 'j1' }, { score: 2, job: 'j2' })).toEqual({
      score: 2,
      job: 'j1',
    });
    expect(laterSeen({ score: 1 }, { score: 2, job: 'j2' })).toEqual({ score: 2, job: 'j2' });
    expect(laterSeen({ score: 1, job: 'j1' }, { score: 3 })).toEqual({ score: 3, job: 'j1' });
    expect(laterSeen(undefined, { score: 2 })).toEqual({ score: 2 });
    expect(laterSeen({ score: 1 }, undefined)).toEqual({ score: 1 });
    expect(laterSeen(undefined, undefined)).toBeUndefined();
  });
});
