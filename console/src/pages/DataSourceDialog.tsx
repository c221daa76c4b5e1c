import { Alert, Button, Form, Input, InputNumber, Modal, Select, Space, Switch } from 'antd';
import { useTranslation } from 'react-i18next';
import { useSaveDataSource, useTestDataSource } from '../api/datasources';
import type { NamePath } from '../api/errors';
import type { DataSource, DataSourceBody, DataSourceKind, KafkaVersion, SaslMechanism, SourceTlsMode, TestResult } from '../api/types';
import { DATA_SOURCE_KINDS, KAFKA_RELEASES, SASL_MECHANISMS, SOURCE_TLS_MODES } from '../api/vocabulary';
import { ErrorAlert } from '../components/ErrorAlert';
import { useFormErrors } from '../components/useFormErrors';
import { connectionSummary } from '../i18n/messages';
import { nameRules } from '../rules';

interface FormValues {
  name: string;
  kind: DataSourceKind;
  description?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  bootstrap_servers?: string;
  version?: KafkaVersion;
  sasl_enabled?: boolean;
  sasl_mechanism?: SaslMechanism;
  sasl_username?: string;
  sasl_password?: string;
  kerberos_service_name?: string;
  kerberos_principal?: string;
  kerberos_keytab?: string;
  tls_enabled?: boolean;
  tls_verify_hostname?: boolean;
  tls_ca_pem?: string;
  tls_client_cert_pem?: string;
  tls_client_key_pem?: string;
  source_tls_mode?: SourceTlsMode;
  source_tls_ca_pem?: string;
  source_tls_client_cert_pem?: string;
  source_tls_client_key_pem?: string;
  registry_enabled?: boolean;
  registry_url?: string;
  registry_username?: string;
  registry_password?: string;
}

const verifies = (mode?: SourceTlsMode) => mode === 'verify_ca' || mode === 'verify_identity';

const DEFAULT_PORT: Record<string, number> = { oceanbase: 2881, mysql: 3306, mariadb: 3306 };

function toValues(ds: DataSource): FormValues {
  return {
    name: ds.name,
    kind: ds.kind,
    description: ds.description,
    host: ds.source?.host,
    port: ds.source?.port,
    user: ds.source?.user,
    source_tls_mode: ds.source?.tls.mode ?? 'preferred',
    bootstrap_servers: ds.kafka?.bootstrap_servers,
    version: ds.kafka?.version,
    sasl_enabled: !!ds.kafka?.sasl,
    sasl_mechanism: ds.kafka?.sasl?.mechanism,
    sasl_username: ds.kafka?.sasl?.username ?? undefined,
    kerberos_service_name: ds.kafka?.sasl?.kerberos_service_name ?? undefined,
    kerberos_principal: ds.kafka?.sasl?.kerberos_principal ?? undefined,
    kerberos_keytab: ds.kafka?.sasl?.kerberos_keytab ?? undefined,
    tls_enabled: !!ds.kafka?.tls?.enabled,
    tls_verify_hostname: ds.kafka?.tls?.verify_hostname ?? true,
    registry_enabled: !!ds.kafka?.schema_registry,
    registry_url: ds.kafka?.schema_registry?.url,
    registry_username: ds.kafka?.schema_registry?.username ?? undefined,
  };
}

/** The request body; empty secrets are left out so that an update keeps the stored ones. */
function toBody(v: FormValues): DataSourceBody {
  const secret = (s?: string) => (s ? s : undefined);
  if (v.kind !== 'kafka') {
    return {
      name: v.name,
      kind: v.kind,
      description: v.description ?? '',
      source: {
        host: v.host ?? '',
        port: v.port ?? DEFAULT_PORT[v.kind],
        user: v.user ?? '',
        password: secret(v.password),
        tls: {
          mode: v.source_tls_mode ?? 'preferred',
          // A CA only goes with a verifying mode; a client certificate with any mode but disabled.
          ca_pem: verifies(v.source_tls_mode) ? secret(v.source_tls_ca_pem) : undefined,
          client_cert_pem: v.source_tls_mode !== 'disabled' ? secret(v.source_tls_client_cert_pem) : undefined,
          client_key_pem: v.source_tls_mode !== 'disabled' ? secret(v.source_tls_client_key_pem) : undefined,
        },
      },
      kafka: null,
    };
  }
  return {
    name: v.name,
    kind: 'kafka',
    description: v.description ?? '',
    source: null,
    kafka: {
      bootstrap_servers: v.bootstrap_servers ?? '',
      version: v.version ?? '3.x',
      sasl: v.sasl_enabled
        ? {
            mechanism: v.sasl_mechanism ?? 'PLAIN',
            username: v.sasl_username ?? '',
            password: secret(v.sasl_password),
            kerberos_service_name: v.sasl_mechanism === 'GSSAPI' ? v.kerberos_service_name || null : null,
            kerberos_principal: v.sasl_mechanism === 'GSSAPI' ? v.kerberos_principal || null : null,
            kerberos_keytab: v.sasl_mechanism === 'GSSAPI' ? v.kerberos_keytab || null : null,
          }
        : null,
      tls: v.tls_enabled
        ? {
            enabled: true,
            verify_hostname: v.tls_verify_hostname ?? true,
            ca_pem: secret(v.tls_ca_pem),
            client_cert_pem: secret(v.tls_client_cert_pem),
            client_key_pem: secret(v.tls_client_key_pem),
          }
        : null,
      schema_registry: v.registry_enabled
        ? { url: v.registry_url ?? '', username: v.registry_username || null, password: secret(v.registry_password) }
        : null,
    },
  };
}

/** The form's field for a field of the request body (`source.tls.ca_pem` → `source_tls_ca_pem`). */
export function dataSourceField(path: NamePath): NamePath | null {
  const [head, ...rest] = path.map(String);
  const flat = (field: string): NamePath | null => (field in FORM_FIELDS ? [field] : null);
  if (rest.length === 0) return flat(head);
  if (head === 'source') return rest[0] === 'tls' ? flat(`source_tls_${rest[1] === 'mode' ? 'mode' : rest[1]}`) : flat(rest[0]);
  if (head === 'kafka') {
    if (rest[0] === 'sasl') return flat(rest[1]?.startsWith('kerberos_') ? rest[1] : `sasl_${rest[1] ?? 'enabled'}`);
    if (rest[0] === 'tls') return flat(rest[1] === 'enabled' || !rest[1] ? 'tls_enabled' : `tls_${rest[1]}`);
    if (rest[0] === 'schema_registry') return flat(rest[1] ? `registry_${rest[1]}` : 'registry_enabled');
    return flat(rest[0]);
  }
  return null;
}

/** Every field of the form, for dataSourceField. */
const FORM_FIELDS: Record<keyof FormValues, true> = {
  name: true,
  kind: true,
  description: true,
  host: true,
  port: true,
  user: true,
  password: true,
  bootstrap_servers: true,
  version: true,
  sasl_enabled: true,
  sasl_mechanism: true,
  sasl_username: true,
  sasl_password: true,
  kerberos_service_name: true,
  kerberos_principal: true,
  kerberos_keytab: true,
  tls_enabled: true,
  tls_verify_hostname: true,
  tls_ca_pem: true,
  tls_client_cert_pem: true,
  tls_client_key_pem: true,
  source_tls_mode: true,
  source_tls_ca_pem: true,
  source_tls_client_cert_pem: true,
  source_tls_client_key_pem: true,
  registry_enabled: true,
  registry_url: true,
  registry_username: true,
  registry_password: true,
};

/** Scheme, host and port of a URL (`null` when it does not parse): the stored registry password follows them. */
function origin(url?: string | null): string | null {
  try {
    return url ? new URL(url.trim()).origin : null;
  } catch {
    return null;
  }
}

/**
 * Whether `v` points the schema registry at another origin or user than `ds`: the server
 * then drops the stored registry password unless it is sent again.
 */
export function registryChanged(ds: DataSource, v: Partial<FormValues>): boolean {
  const r = ds.kafka?.schema_registry;
  if (!r?.password_set || !v.registry_enabled) return false;
  return origin(v.registry_url) !== origin(r.url) || (v.registry_username || null) !== (r.username ?? null);
}

/**
 * Whether `v` connects elsewhere, as someone else or with other TLS than `ds`: the server
 * then drops the stored secrets unless they are sent again (they stay where they were sent).
 */
export function connectionChanged(ds: DataSource, v: Partial<FormValues>): boolean {
  if (ds.source) {
    return (
      v.host !== ds.source.host ||
      v.port !== ds.source.port ||
      v.user !== ds.source.user ||
      (v.source_tls_mode ?? 'preferred') !== (ds.source.tls?.mode ?? 'preferred') ||
      !!v.source_tls_ca_pem ||
      !!v.source_tls_client_cert_pem
    );
  }
  const k = ds.kafka;
  if (!k) return false;
  const sasl = k.sasl;
  const tls = k.tls?.enabled ? k.tls : null;
  return (
    v.bootstrap_servers?.trim() !== k.bootstrap_servers ||
    !!v.sasl_enabled !== !!sasl ||
    (!!sasl &&
      (v.sasl_mechanism !== sasl.mechanism ||
        (v.sasl_mechanism === 'GSSAPI' ? v.kerberos_principal !== sasl.kerberos_principal : (v.sasl_username ?? '') !== sasl.username))) ||
    !!v.tls_enabled !== !!tls ||
    (!!tls && ((v.tls_verify_hostname ?? true) !== tls.verify_hostname || !!v.tls_ca_pem || !!v.tls_client_cert_pem))
  );
}

export interface DataSourceDialogProps {
  open: boolean;
  /** The data source to edit; absent to add one. */
  editing?: DataSource | null;
  /** The kinds offered (the wizard offers source kinds or Kafka only). */
  kinds?: DataSourceKind[];
  onClose: () => void;
  onSaved?: (ds: DataSource) => void;
}

/** Mounted only while open, so every opening starts from a fresh form and no old test result. */
export function DataSourceDialog(props: DataSourceDialogProps) {
  return props.open ? <DataSourceForm {...props} /> : null;
}

function DataSourceForm({ editing, kinds, onClose, onSaved }: DataSourceDialogProps) {
  const { t, i18n } = useTranslation();
  const [form] = Form.useForm<FormValues>();
  const kind = Form.useWatch('kind', form);
  const saslEnabled = Form.useWatch('sasl_enabled', form);
  const mechanism = Form.useWatch('sasl_mechanism', form);
  const tlsEnabled = Form.useWatch('tls_enabled', form);
  const sourceTlsMode = Form.useWatch('source_tls_mode', form);
  const registryEnabled = Form.useWatch('registry_enabled', form);
  const watched = Form.useWatch([], form) as Partial<FormValues> | undefined;
  const changed = !!editing && !!watched && (connectionChanged(editing, watched) || registryChanged(editing, watched));
  const tester = useTestDataSource();
  const saver = useSaveDataSource();
  const errors = useFormErrors(form, dataSourceField);
  const offered = kinds ?? [...DATA_SOURCE_KINDS];
  const busy = tester.isPending ? 'test' : saver.isPending ? 'save' : null;
  const test = tester.isPending ? null : (tester.data ?? null);

  const runTest = async () => {
    const values = await form.validateFields();
    errors.clear();
    saver.reset();
    // An edit with its secrets left blank is tested with the stored secrets, unless it
    // connects elsewhere: the stored secrets do not follow a changed connection.
    const stored = editing && !changed && !values.password && !values.sasl_password && !values.source_tls_client_key_pem;
    tester.mutate(stored ? { id: editing.id } : { body: toBody(values) }, { onError: errors.onError });
  };

  const save = async () => {
    const values = await form.validateFields();
    errors.clear();
    saver.mutate(
      { id: editing?.id ?? null, body: toBody(values) },
      {
        onSuccess: (saved) => {
          onSaved?.(saved);
          onClose();
        },
        onError: errors.onError,
      },
    );
  };

  const isSource = kind && kind !== 'kafka';
  return (
    <Modal
      open
      title={editing ? t('datasources.editTitle') : t('datasources.addTitle')}
      onCancel={onClose}
      width={640}
      destroyOnHidden
      footer={
        <Space>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button onClick={runTest} loading={busy === 'test'} data-testid="ds-test">
            {t('datasources.testConnection')}
          </Button>
          <Button type="primary" onClick={save} loading={busy === 'save'} data-testid="ds-save">
            {t('common.save')}
          </Button>
        </Space>
      }
    >
      <Form
        form={form}
        layout="vertical"
        data-testid="ds-form"
        initialValues={
          editing
            ? toValues(editing)
            : { kind: offered[0], port: DEFAULT_PORT[offered[0]], version: '3.x', tls_verify_hostname: true, source_tls_mode: 'preferred' }
        }
      >
        <Form.Item name="kind" label={t('datasources.kind')} rules={[{ required: true }]}>
          <Select
            data-testid="ds-kind"
            disabled={!!editing}
            options={offered.map((k) => ({ value: k, label: t(`kind.${k}`) }))}
            onChange={(k: DataSourceKind) => {
              if (k !== 'kafka') form.setFieldValue('port', DEFAULT_PORT[k]);
            }}
          />
        </Form.Item>
        <Form.Item
          name="name"
          label={t('datasources.name')}
          rules={[{ required: true, message: t('datasources.nameRequired') }, ...nameRules(t, 'data_source_name')]}
        >
          <Input data-testid="ds-name" />
        </Form.Item>
        {isSource && (
          <>
            <Space.Compact style={{ width: '100%' }}>
              <Form.Item name="host" label={t('datasources.host')} rules={[{ required: true, message: t('datasources.hostRequired') }]} style={{ flex: 1 }}>
                <Input data-testid="ds-host" placeholder="127.0.0.1" />
              </Form.Item>
              <Form.Item name="port" label={t('datasources.port')} rules={[{ required: true, message: t('datasources.portRequired') }]}>
                <InputNumber min={1} max={65535} data-testid="ds-port" />
              </Form.Item>
            </Space.Compact>
            <Form.Item
              name="user"
              label={t('datasources.user')}
              extra={kind === 'oceanbase' ? t('datasources.userOceanBase') : undefined}
              rules={[{ required: true, message: t('datasources.userRequired') }]}
            >
              <Input data-testid="ds-user" placeholder={kind === 'oceanbase' ? 'root@tenant#cluster' : 'root'} />
            </Form.Item>
            <Form.Item name="password" label={t('datasources.password')} extra={editing ? t('datasources.secretKept') : undefined}>
              <Input.Password data-testid="ds-password" autoComplete="new-password" />
            </Form.Item>
            <Form.Item name="source_tls_mode" label={t('datasources.sourceTlsMode')} extra={t('datasources.sourceTlsModeHint')}>
              <Select
                data-testid="ds-source-tls-mode"
                options={SOURCE_TLS_MODES.map((m) => ({ value: m, label: t(`datasources.sourceTlsModes.${m}`) }))}
              />
            </Form.Item>
            {verifies(sourceTlsMode) && (
              <Form.Item
                name="source_tls_ca_pem"
                label={t('datasources.sourceTlsCa')}
                extra={editing?.source?.tls.ca_set ? t('datasources.secretKept') : t('datasources.sourceTlsCaHint')}
              >
                <Input.TextArea rows={3} placeholder="-----BEGIN CERTIFICATE-----" data-testid="ds-source-tls-ca" />
              </Form.Item>
            )}
            {sourceTlsMode && sourceTlsMode !== 'disabled' && (
              <>
                <Form.Item
                  name="source_tls_client_cert_pem"
                  label={t('datasources.tlsClientCert')}
                  extra={editing?.source?.tls.client_cert_set ? t('datasources.secretKept') : t('datasources.sourceTlsClientHint')}
                >
                  <Input.TextArea rows={2} placeholder="-----BEGIN CERTIFICATE-----" data-testid="ds-source-tls-cert" />
                </Form.Item>
                <Form.Item
                  name="source_tls_client_key_pem"
                  label={t('datasources.tlsClientKey')}
                  extra={editing?.source?.tls.client_key_set ? t('datasources.secretKept') : undefined}
                >
                  <Input.TextArea rows={2} placeholder="-----BEGIN PRIVATE KEY-----" data-testid="ds-source-tls-key" />
                </Form.Item>
              </>
            )}
          </>
        )}
        {kind === 'kafka' && (
          <>
            <Form.Item
              name="bootstrap_servers"
              label={t('datasources.bootstrapServers')}
              extra={t('datasources.bootstrapServersHint')}
              rules={[{ required: true, message: t('datasources.bootstrapRequired') }]}
            >
              <Input data-testid="ds-bootstrap" placeholder="127.0.0.1:9092" />
            </Form.Item>
            <Form.Item name="version" label={t('datasources.kafkaVersion')} extra={t('datasources.kafkaVersionHint')}>
              <Select options={KAFKA_RELEASES.map((v) => ({ value: v, label: v }))} data-testid="ds-version" />
            </Form.Item>
            <Form.Item name="sasl_enabled" label={t('datasources.sasl')} valuePropName="checked">
              <Switch />
            </Form.Item>
            {saslEnabled && (
              <>
                <Form.Item name="sasl_mechanism" label={t('datasources.saslMechanism')} initialValue="PLAIN">
                  <Select options={SASL_MECHANISMS.map((v) => ({ value: v, label: v }))} />
                </Form.Item>
                {mechanism !== 'GSSAPI' && (
                  <>
                    <Form.Item name="sasl_username" label={t('datasources.saslUsername')} rules={[{ required: true, message: t('datasources.userRequired') }]}>
                      <Input />
                    </Form.Item>
                    <Form.Item name="sasl_password" label={t('datasources.saslPassword')} extra={editing ? t('datasources.secretKept') : undefined}>
                      <Input.Password autoComplete="new-password" />
                    </Form.Item>
                  </>
                )}
                {mechanism === 'GSSAPI' && (
                  <>
                    <Form.Item name="kerberos_service_name" label={t('datasources.kerberosServiceName')}>
                      <Input placeholder="kafka" />
                    </Form.Item>
                    <Form.Item name="kerberos_principal" label={t('datasources.kerberosPrincipal')}>
                      <Input />
                    </Form.Item>
                    <Form.Item name="kerberos_keytab" label={t('datasources.kerberosKeytab')}>
                      <Input />
                    </Form.Item>
                  </>
                )}
              </>
            )}
            <Form.Item name="tls_enabled" label={t('datasources.tls')} valuePropName="checked">
              <Switch />
            </Form.Item>
            {tlsEnabled && (
              <>
                <Form.Item name="tls_verify_hostname" label={t('datasources.tlsVerifyHostname')} valuePropName="checked">
                  <Switch />
                </Form.Item>
                <Form.Item name="tls_ca_pem" label={t('datasources.tlsCa')} extra={editing ? t('datasources.secretKept') : undefined}>
                  <Input.TextArea rows={3} placeholder="-----BEGIN CERTIFICATE-----" />
                </Form.Item>
                <Form.Item name="tls_client_cert_pem" label={t('datasources.tlsClientCert')}>
                  <Input.TextArea rows={2} />
                </Form.Item>
                <Form.Item name="tls_client_key_pem" label={t('datasources.tlsClientKey')}>
                  <Input.TextArea rows={2} />
                </Form.Item>
              </>
            )}
            <Form.Item name="registry_enabled" label={t('datasources.schemaRegistry')} extra={t('datasources.schemaRegistryHint')} valuePropName="checked">
              <Switch data-testid="ds-registry" />
            </Form.Item>
            {registryEnabled && (
              <>
                <Form.Item name="registry_url" label={t('datasources.registryUrl')} rules={[{ required: true, message: t('datasources.registryUrlRequired') }]}>
                  <Input placeholder="http://127.0.0.1:8081" data-testid="ds-registry-url" />
                </Form.Item>
                <Form.Item name="registry_username" label={t('datasources.registryUsername')} extra={t('datasources.registryUsernameHint')}>
                  <Input autoComplete="off" data-testid="ds-registry-username" />
                </Form.Item>
                <Form.Item
                  name="registry_password"
                  label={t('datasources.registryPassword')}
                  extra={editing?.kafka?.schema_registry?.password_set ? t('datasources.secretKept') : undefined}
                >
                  <Input.Password autoComplete="new-password" data-testid="ds-registry-password" />
                </Form.Item>
              </>
            )}
          </>
        )}
        {changed && (
          <Alert data-testid="ds-secrets-cleared" type="info" showIcon title={t('datasources.secretsCleared')} style={{ marginBottom: 16 }} />
        )}
        <Form.Item name="description" label={t('datasources.description')} rules={[{ max: 128, message: t('datasources.descriptionTooLong') }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
      </Form>
      {test && (
        <Alert
          data-testid="ds-test-result"
          data-ok={String(test.ok)}
          type={test.ok ? 'success' : 'error'}
          showIcon
          title={test.ok ? t('datasources.testOk') : t('datasources.testFailed')}
          description={test.ok ? connectionSummary(t, i18n, test) : <TestError result={test} />}
        />
      )}
      <ErrorAlert error={errors.alert} style={{ marginTop: 8 }} />
    </Modal>
  );
}

function TestError({ result }: { result: TestResult }) {
  const { t, i18n } = useTranslation();
  if (!result.error) return <>{connectionSummary(t, i18n, result)}</>;
  return <ErrorAlert error={result.error} />;
}
