import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATA_SOURCE_KINDS, DATA_SOURCE_NAME, KAFKA_RELEASES, SASL_MECHANISMS, SOURCE_TLS_MODES } from './vocabulary';

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

  it('judge a data source name by the server pattern', () => {
    const pattern = schema('DataSourceInput').properties.name.pattern;
    expect(DATA_SOURCE_NAME.source).toBe(pattern);
    expect(DATA_SOURCE_NAME.test('a'.repeat(32))).toBe(true);
    expect(DATA_SOURCE_NAME.test('a'.repeat(33))).toBe(false);
    expect(DATA_SOURCE_NAME.test('has space')).toBe(false);
  });
});
