import { useState } from 'react';
import { Alert, Button, Card, DatePicker, Form, Input, Radio, Select, Space, Switch, Table, Typography } from 'antd';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import { useDataSources } from '../api/datasources';
import { usePreview } from '../api/projects';
import type { Format, PreviewRecord } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { checkStartTime } from '../rules';
import { FormatOptionsForm } from './FormatOptionsForm';
import { isDebezium, targetRegistry, toSpec, type Draft, type DraftUpdate } from './draft';

export const FORMATS: Format[] = [
  'Default',
  'DefaultExtendColumnType',
  'Canal',
  'DataWorks',
  'SharePlex',
  'Debezium',
  'DebeziumFlattened',
  'Maxwell',
  'DebeziumAvro',
];

export function StepOptions({ draft, update }: { draft: Draft; update: DraftUpdate }) {
  const { t } = useTranslation();
  const dataSources = useDataSources();
  const withFull = draft.types.includes('full');
  // "Now" as of entering the step: the default start and the limit of the picker.
  const [now] = useState(() => Math.floor(Date.now() / 1000));
  const startError = withFull ? null : checkStartTime(draft.start_time, now);

  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="large">
      {/* Notes go in `extra`, errors in `help`: antd drops an item's bottom margin under `help`. */}
      <Form layout="vertical" style={{ maxWidth: 720 }}>
        {draft.types.includes('incremental') && (
          <Form.Item
            label={t('wizard.options.startTime')}
            validateStatus={startError ? 'error' : undefined}
            help={startError ? t(startError.key) : undefined}
            extra={withFull ? t('wizard.options.startWithFull') : t('wizard.options.startNote')}
          >
            {withFull ? (
              <Input disabled value={t('wizard.options.projectStartTime')} data-testid="start-time-fixed" />
            ) : (
              <Space>
                <DatePicker
                  showTime
                  value={draft.start_time === null ? dayjs.unix(now) : dayjs.unix(draft.start_time)}
                  disabledDate={(d) => d.isAfter(dayjs())}
                  onChange={(d) => update({ start_time: d ? d.unix() : null })}
                  data-testid="start-time-picker"
                />
                <Input
                  style={{ width: 200 }}
                  addonBefore={t('wizard.options.unixSeconds')}
                  value={draft.start_time === null ? '' : String(draft.start_time)}
                  placeholder={String(now)}
                  onChange={(e) => {
                    const v = e.target.value.trim();
                    update({ start_time: v === '' ? null : /^\d+$/.test(v) ? Number(v) : (v as unknown as number) });
                  }}
                  data-testid="start-time-unix"
                />
              </Space>
            )}
          </Form.Item>
        )}
        <Form.Item label={t('wizard.options.format')} extra={t(`wizard.options.formatNote.${draft.format}`)}>
          <Select
            value={draft.format}
            onChange={(format: Format) => update({ format, tx_sequence: format === 'SharePlex' ? draft.tx_sequence : false, format_options: {} })}
            options={FORMATS.map((f) => ({ value: f, label: t(`format.${f}`) }))}
            data-testid="format"
          />
        </Form.Item>
        {isDebezium(draft.format) && <DebeziumFields draft={draft} update={update} />}
        <FormatOptionsForm
          format={draft.format}
          value={draft.format_options}
          onChange={(format_options) => update({ format_options })}
          targetRegistry={targetRegistry(dataSources.data?.items, draft.target_id)}
        />
        <Form.Item label={t('wizard.options.txSequence')} extra={draft.format === 'SharePlex' ? t('wizard.options.txSequenceNote') : t('wizard.options.txSequenceOnlyShareplex')}>
          <Switch checked={draft.tx_sequence} disabled={draft.format !== 'SharePlex'} onChange={(tx_sequence) => update({ tx_sequence })} data-testid="tx-sequence" />
        </Form.Item>
        <Form.Item label={t('wizard.options.partitionRule')} extra={t(`wizard.options.partitionNote.${draft.partition_rule}`)}>
          <Radio.Group value={draft.partition_rule} onChange={(e) => update({ partition_rule: e.target.value })} data-testid="partition-rule">
            <Radio value="hash">{t('wizard.options.hash')}</Radio>
            <Radio value="one">{t('wizard.options.one')}</Radio>
          </Radio.Group>
        </Form.Item>
      </Form>
      <Preview draft={draft} />
    </Space>
  );
}

/** `[sync.debezium]`: Debezium's own option names (docs/formats.md, Debezium). */
function DebeziumFields({ draft, update }: { draft: Draft; update: DraftUpdate }) {
  const { t } = useTranslation();
  const d = draft.debezium;
  const set = (change: Partial<Draft['debezium']>) => update({ debezium: { ...d, ...change } });
  const flattened = draft.format === 'DebeziumFlattened';
  return (
    <>
      <Form.Item label={t('wizard.debezium.schemas')} extra={t('wizard.debezium.schemasNote')}>
        <Switch checked={d.schemas ?? true} onChange={(schemas) => set({ schemas })} data-testid="debezium-schemas" />
      </Form.Item>
      <Form.Item label={t('wizard.debezium.decimal')} extra={t(`wizard.debezium.decimalNote.${d.decimal_handling ?? 'precise'}`)}>
        <Radio.Group value={d.decimal_handling ?? 'precise'} onChange={(e) => set({ decimal_handling: e.target.value })} data-testid="debezium-decimal">
          {['precise', 'string', 'double'].map((m) => (
            <Radio key={m} value={m}>
              {m}
            </Radio>
          ))}
        </Radio.Group>
      </Form.Item>
      <Form.Item label={t('wizard.debezium.tombstones')} extra={t('wizard.debezium.tombstonesNote')}>
        <Switch checked={d.tombstones_on_delete ?? true} onChange={(tombstones_on_delete) => set({ tombstones_on_delete })} data-testid="debezium-tombstones" />
      </Form.Item>
      <Form.Item label={t('wizard.debezium.transaction')} extra={t('wizard.debezium.transactionNote')}>
        <Switch checked={d.transaction_metadata ?? false} onChange={(transaction_metadata) => set({ transaction_metadata })} data-testid="debezium-transaction" />
      </Form.Item>
      <Form.Item label={t('wizard.debezium.topicPrefix')} extra={t('wizard.debezium.topicPrefixNote')}>
        <Input
          value={d.topic_prefix ?? ''}
          placeholder={draft.name}
          onChange={(e) => set({ topic_prefix: e.target.value.trim() === '' ? null : e.target.value.trim() })}
          data-testid="debezium-topic-prefix"
        />
      </Form.Item>
      {flattened && (
        <>
          <Form.Item label={t('wizard.debezium.deletes')} extra={t(`wizard.debezium.deletesNote.${d.delete_handling ?? 'tombstone'}`)}>
            <Radio.Group value={d.delete_handling ?? 'tombstone'} onChange={(e) => set({ delete_handling: e.target.value })} data-testid="debezium-deletes">
              {['tombstone', 'drop', 'rewrite', 'rewrite-with-tombstone'].map((m) => (
                <Radio key={m} value={m}>
                  {m}
                </Radio>
              ))}
            </Radio.Group>
          </Form.Item>
          <Form.Item label={t('wizard.debezium.addFields')} extra={t('wizard.debezium.addFieldsNote')}>
            <Select
              mode="tags"
              value={d.add_fields ?? []}
              onChange={(add_fields: string[]) => set({ add_fields: add_fields.length ? add_fields : null })}
              options={['op', 'table', 'db', 'source.ts_ms', 'ts_ms', 'source.file', 'source.pos', 'source.gtid'].map((f) => ({ value: f, label: f }))}
              data-testid="debezium-add-fields"
            />
          </Form.Item>
        </>
      )}
    </>
  );
}

/** The server's message preview of one table in the chosen format; nothing is written. */
function Preview({ draft }: { draft: Draft }) {
  const { t } = useTranslation();
  const [table, setTable] = useState<string | undefined>(draft.mappings[0]?.table);
  const preview = usePreview();
  const records = preview.isPending ? null : (preview.data?.records ?? null);
  const run = () => {
    if (table) preview.mutate({ spec: toSpec(draft), table, limit: 5 });
  };
  return (
    <Card size="small" title={t('wizard.preview.title')}>
      <Space style={{ marginBottom: 12 }}>
        <Select style={{ width: 320 }} value={table} onChange={setTable} options={draft.mappings.map((m) => ({ value: m.table, label: m.table }))} data-testid="preview-table" />
        <Button onClick={run} loading={preview.isPending} disabled={!table} data-testid="preview-run">
          {t('wizard.preview.run')}
        </Button>
        <Typography.Text type="secondary">{t('wizard.preview.note')}</Typography.Text>
      </Space>
      <ErrorAlert error={preview.error} />
      {records && records.length === 0 && <Alert type="info" title={t('wizard.preview.empty')} />}
      {records && records.length > 0 && (
        <Table<PreviewRecord>
          size="small"
          rowKey={(_, i) => String(i)}
          pagination={false}
          dataSource={records}
          data-testid="preview-records"
          columns={[
            { title: t('wizard.preview.topic'), dataIndex: 'topic', width: 180 },
            { title: t('wizard.preview.partition'), dataIndex: 'partition', width: 90 },
            { title: t('wizard.preview.key'), dataIndex: 'key', width: 160, render: (k?: string | null) => <Typography.Text code>{k ?? 'null'}</Typography.Text> },
            { title: t('wizard.preview.value'), dataIndex: 'value', render: (v?: string | null) => <pre style={{ margin: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-all', maxHeight: 200, overflow: 'auto' }}>{prettyJson(v)}</pre> },
          ]}
        />
      )}
    </Card>
  );
}

function prettyJson(v?: string | null): string {
  if (v === null || v === undefined) return 'null';
  try {
    return JSON.stringify(JSON.parse(v), null, 2);
  } catch {
    return v;
  }
}
