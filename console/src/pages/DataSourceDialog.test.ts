import { describe, expect, it } from 'vitest';
import type { DataSource } from '../api/types';
import { connectionChanged, registryChanged } from './DataSourceDialog';

const mysql = {
  id: 'ds_1',
  name: 'm',
  kind: 'mysql',
  description: '',
  source: {
    host: 'db1',
    port: 3306,
    user: 'sync',
    password_set: true,
    tls: { mode: 'preferred', ca_set: false, client_cert_set: false, client_key_set: false },
  },
  kafka: null,
  used_by: [],
  created_at: '',
  updated_at: '',
  revision: 1,
} as DataSource;

const kafka = {
  ...mysql,
  kind: 'kafka',
  source: null,
  kafka: {
    bootstrap_servers: 'k1:9092',
    version: '3.x',
    sasl: { mechanism: 'PLAIN', username: 'alice', password_set: true, kerberos_service_name: null, kerberos_principal: null, kerberos_keytab: null },
    tls: { enabled: true, verify_hostname: true, ca_set: true, client_cert_set: false, client_key_set: false },
  },
} as DataSource;

describe('connectionChanged', () => {
  it('is false for an edit of the name or description only', () => {
    expect(connectionChanged(mysql, { host: 'db1', port: 3306, user: 'sync', name: 'x', description: 'y' })).toBe(false);
    expect(
      connectionChanged(kafka, {
        bootstrap_servers: 'k1:9092',
        sasl_enabled: true,
        sasl_mechanism: 'PLAIN',
        sasl_username: 'alice',
        tls_enabled: true,
        tls_verify_hostname: true,
        name: 'renamed',
      }),
    ).toBe(false);
  });

  it('is true when the address, the user or the security settings change', () => {
    expect(connectionChanged(mysql, { host: 'evil', port: 3306, user: 'sync' })).toBe(true);
    expect(connectionChanged(mysql, { host: 'db1', port: 3307, user: 'sync' })).toBe(true);
    expect(connectionChanged(mysql, { host: 'db1', port: 3306, user: 'root' })).toBe(true);
    expect(connectionChanged(mysql, { host: 'db1', port: 3306, user: 'sync', source_tls_mode: 'disabled' })).toBe(true);
    expect(connectionChanged(mysql, { host: 'db1', port: 3306, user: 'sync', source_tls_mode: 'preferred' })).toBe(false);
    const same = { bootstrap_servers: 'k1:9092', sasl_enabled: true, sasl_mechanism: 'PLAIN' as const, sasl_username: 'alice', tls_enabled: true, tls_verify_hostname: true };
    expect(connectionChanged(kafka, { ...same, bootstrap_servers: 'evil:9092' })).toBe(true);
    expect(connectionChanged(kafka, { ...same, sasl_username: 'bob' })).toBe(true);
    expect(connectionChanged(kafka, { ...same, sasl_mechanism: 'SCRAM-SHA-512' })).toBe(true);
    expect(connectionChanged(kafka, { ...same, tls_enabled: false })).toBe(true);
    expect(connectionChanged(kafka, { ...same, tls_verify_hostname: false })).toBe(true);
  });
});

describe('registryChanged', () => {
  const withRegistry = {
    ...kafka,
    kafka: { ...kafka.kafka!, schema_registry: { url: 'http://reg:8081/apis/ccompat/v7', username: 'avro', password_set: true } },
  } as DataSource;
  const same = { registry_enabled: true, registry_url: 'http://reg:8081/apis/ccompat/v7', registry_username: 'avro' };

  it('is false for the same origin and user, whatever the path', () => {
    expect(registryChanged(withRegistry, same)).toBe(false);
    expect(registryChanged(withRegistry, { ...same, registry_url: 'http://REG:8081/other' })).toBe(false);
  });

  it('is true for another host, port, scheme or user', () => {
    expect(registryChanged(withRegistry, { ...same, registry_url: 'http://evil:8081/apis/ccompat/v7' })).toBe(true);
    expect(registryChanged(withRegistry, { ...same, registry_url: 'http://reg:9999/apis/ccompat/v7' })).toBe(true);
    expect(registryChanged(withRegistry, { ...same, registry_url: 'https://reg:8081/apis/ccompat/v7' })).toBe(true);
    expect(registryChanged(withRegistry, { ...same, registry_username: 'bob' })).toBe(true);
  });
});
