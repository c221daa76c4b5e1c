import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATA_SOURCE_KINDS, KAFKA_RELEASES, POLL_MS, SASL_MECHANISMS, SOURCE_TLS_MODES, STATES, STATE_PACE, pollInterval } from './vocabulary';

// The server's document, as the generated types were made from it.
const doc = JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'));
const schema = (name: string) => doc.components.schemas[name];

describe('the values the console offers', () => {
  it.each([
    ['DataSourceKind', DATA_SOURCE_KINDS],
    ['KafkaRelease', KAFKA_RELEASES],
    ['SaslMechanism', SASL_MECHANISMS],
    ['SourceTlsMode', SOURCE_TLS_MODES],
  ])('%s are exactly the enum of the server document', (name, offered) => {
    expect([...offered].sort()).toEqual([...schema(name).enum].sort());
  });

  it('project states are exactly the enum of the server document, each with a polling pace', () => {
    expect([...STATES].sort()).toEqual([...schema('ProjectState').enum].sort());
    expect(Object.keys(STATE_PACE).sort()).toEqual([...schema('ProjectState').enum].sort());
  });
});

describe('polling', () => {
  it('is fast only while a state is transitional', () => {
    expect(pollInterval([{ state: 'prechecking' }])).toBe(POLL_MS.transitional);
    expect(pollInterval([{ state: 'releasing' }])).toBe(POLL_MS.transitional);
    expect(pollInterval([{ state: 'running', stage: 'full' }])).toBe(POLL_MS.transitional);
    expect(pollInterval([{ state: 'running', stage: 'incremental' }])).toBe(POLL_MS.live);
    for (const state of ['not_started', 'precheck_failed', 'paused', 'failed', 'finished', 'released'] as const) {
      expect(pollInterval([{ state }]), state).toBe(POLL_MS.settled);
    }
  });
  it('follows the liveliest project of a list', () => {
    expect(pollInterval([])).toBe(POLL_MS.settled);
    expect(pollInterval([{ state: 'paused' }, { state: 'running', stage: 'incremental' }])).toBe(POLL_MS.live);
    expect(pollInterval([{ state: 'paused' }, { state: 'releasing' }, { state: 'running', stage: 'incremental' }])).toBe(POLL_MS.transitional);
  });
  it('is slower for settled states than for live ones', () => {
    expect(POLL_MS.transitional).toBeLessThan(POLL_MS.live);
    expect(POLL_MS.live).toBeLessThan(POLL_MS.settled);
  });
});
