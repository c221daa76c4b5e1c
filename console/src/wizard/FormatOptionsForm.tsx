import { Checkbox, Form, Input, Radio, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Format, FormatOptions } from '../api/types';

/** The Maxwell `output_*` switches the wizard offers, in Maxwell's field order. */
const MAXWELL_FIELDS = [
  ['maxwell_position', 'wizard.options.maxwellPosition'],
  ['maxwell_gtid', 'wizard.options.maxwellGtid'],
  ['maxwell_xoffset', 'wizard.options.maxwellXoffset'],
  ['maxwell_primary_keys', 'wizard.options.maxwellPrimaryKeys'],
  ['maxwell_primary_key_columns', 'wizard.options.maxwellPrimaryKeyColumns'],
] as const;

/**
 * The chosen format's `[sync.format_options]`: only the keys of that format are shown,
 * each starting at the format's own default (an absent key).
 */
export function FormatOptionsForm({
  format,
  value,
  onChange,
  targetRegistry,
}: {
  format: Format;
  value: FormatOptions;
  onChange: (v: FormatOptions) => void;
  /** The target data source's schema registry URL, used when the project names none. */
  targetRegistry?: string | null;
}) {
  const { t } = useTranslation();
  const set = (change: Partial<FormatOptions>) => onChange({ ...value, ...change });
  if (format === 'Canal') {
    return (
      <Form.Item label={t('wizard.options.canalBinary')} extra={t('wizard.options.canalBinaryNote')}>
        <Radio.Group value={value.canal_binary ?? 'latin1'} onChange={(e) => set({ canal_binary: e.target.value })} data-testid="canal-binary">
          <Radio value="latin1">{t('wizard.options.canalBinaryLatin1')}</Radio>
          <Radio value="base64">{t('wizard.options.canalBinaryBase64')}</Radio>
        </Radio.Group>
      </Form.Item>
    );
  }
  if (format === 'Default' || format === 'DefaultExtendColumnType') {
    return (
      <Form.Item label={t('wizard.options.timestampFraction')} extra={t('wizard.options.timestampFractionNote')}>
        <Radio.Group value={value.timestamp_fraction ?? 'column'} onChange={(e) => set({ timestamp_fraction: e.target.value })} data-testid="timestamp-fraction">
          <Radio value="column">{t('wizard.options.timestampFractionColumn')}</Radio>
          <Radio value="nanos">{t('wizard.options.timestampFractionNanos')}</Radio>
        </Radio.Group>
      </Form.Item>
    );
  }
  if (format === 'Maxwell') {
    return (
      <>
        <Form.Item label={t('wizard.options.maxwellKeyFormat')} extra={t('wizard.options.maxwellKeyFormatNote')}>
          <Radio.Group value={value.maxwell_key_format ?? 'hash'} onChange={(e) => set({ maxwell_key_format: e.target.value })} data-testid="maxwell-key-format">
            <Radio value="hash">{t('wizard.options.maxwellKeyHash')}</Radio>
            <Radio value="array">{t('wizard.options.maxwellKeyArray')}</Radio>
          </Radio.Group>
        </Form.Item>
        <Form.Item label={t('wizard.options.maxwellSnapshotType')} extra={t('wizard.options.maxwellSnapshotTypeNote')}>
          <Radio.Group value={value.maxwell_snapshot_type ?? 'bootstrap-insert'} onChange={(e) => set({ maxwell_snapshot_type: e.target.value })} data-testid="maxwell-snapshot-type">
            <Radio value="bootstrap-insert">{t('wizard.options.maxwellBootstrapInsert')}</Radio>
            <Radio value="insert">{t('wizard.options.maxwellInsert')}</Radio>
          </Radio.Group>
        </Form.Item>
        <Form.Item label={t('wizard.options.maxwellFields')} extra={t('wizard.options.maxwellFieldsNote')}>
          <Space wrap>
            {MAXWELL_FIELDS.map(([key, label]) => (
              <Checkbox key={key} checked={value[key] ?? false} onChange={(e) => set({ [key]: e.target.checked })} data-testid={`option-${key}`}>
                {t(label)}
              </Checkbox>
            ))}
          </Space>
        </Form.Item>
      </>
    );
  }
  if (format === 'DebeziumAvro') {
    return (
      <>
        <Form.Item
          label={t('wizard.options.schemaRegistryUrl')}
          extra={targetRegistry ? t('wizard.options.schemaRegistryUrlTarget', { url: targetRegistry }) : t('wizard.options.schemaRegistryUrlNote')}
          required={!targetRegistry}
        >
          <Input
            value={value.schema_registry_url ?? ''}
            placeholder={targetRegistry ?? 'http://127.0.0.1:8081'}
            onChange={(e) => set({ schema_registry_url: e.target.value || undefined })}
            data-testid="schema-registry-url"
          />
        </Form.Item>
        <Form.Item label={t('wizard.options.subjectNameStrategy')} extra={t('wizard.options.subjectNameStrategyNote')}>
          <Radio.Group value={value.subject_name_strategy ?? 'topic'} onChange={(e) => set({ subject_name_strategy: e.target.value })} data-testid="subject-name-strategy">
            <Radio value="topic">{t('wizard.options.subjectTopic')}</Radio>
            <Radio value="record">{t('wizard.options.subjectRecord')}</Radio>
            <Radio value="topic_record">{t('wizard.options.subjectTopicRecord')}</Radio>
          </Radio.Group>
        </Form.Item>
      </>
    );
  }
  return null;
}
