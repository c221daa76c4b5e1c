import { Alert, Button, Card, Descriptions, Empty, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useStartVerify, useVerify } from '../api/projects';
import type { Verify, VerifyKeys, VerifyTable } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { formatNumber, formatTime } from '../components/ProjectBits';
import { eventMessage } from '../i18n/messages';

/** Verify (read only): rebuild each table from its topic, compare it with the source; progress, then the per-table report. */
export function VerifyPanel({ id, canRun }: { id: string; canRun: boolean }) {
  const { t } = useTranslation();
  // Polled only while a run is in progress.
  const run = useVerify(id);
  const starter = useStartVerify(id);
  const start = () => starter.mutate();
  const starting = starter.isPending;
  const error = starter.error;
  const v = run.data;
  const running = v?.state === 'running';
  return (
    <Card
      title={t('verify.title')}
      data-testid="verify-panel"
      extra={
        canRun && (
          <Button onClick={start} loading={starting || running} data-testid="action-verify">
            {t(v && v.state !== 'none' ? 'verify.again' : 'verify.run')}
          </Button>
        )
      }
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('verify.explain')}</Typography.Text>
        <ErrorAlert error={error ?? run.error} />
        {!v || v.state === 'none' ? <Empty description={t('verify.none')} /> : <VerifyRun verify={v} />}
      </Space>
    </Card>
  );
}

function VerifyRun({ verify: v }: { verify: Verify }) {
  const { t, i18n } = useTranslation();
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2, xl: 4 }}
        items={[
          { key: 'state', label: t('verify.state'), children: <Tag data-testid="verify-state" data-state={v.state} color={stateColor(v)}>{t(`verify.states.${v.state}`)}</Tag> },
          { key: 'started', label: t('verify.started'), children: `${formatTime(v.started_at)} · ${v.started_by ?? ''}` },
          { key: 'records', label: t('verify.recordsRead'), children: <span data-testid="verify-records">{formatNumber(v.records_read)}</span> },
          { key: 'rows', label: t('verify.rowsChecked'), children: <span data-testid="verify-rows">{formatNumber(v.rows_checked)}</span> },
        ]}
      />
      {v.state === 'running' && v.activity && <Typography.Text type="secondary" data-testid="verify-activity">{eventMessage(t, i18n, { code: v.activity_code, params: v.activity_params, message: v.activity })}</Typography.Text>}
      {v.state === 'failed' && <Alert type="error" showIcon message={t('verify.failed')} description={v.error && eventMessage(t, i18n, { code: v.error_code, params: v.error_params, message: v.error })} data-testid="verify-error" />}
      {v.state === 'finished' && (
        <>
          <Alert
            type={v.clean ? 'success' : 'warning'}
            showIcon
            data-testid="verify-verdict"
            data-clean={String(v.clean)}
            message={v.clean ? t('verify.clean') : t('verify.differences')}
            description={t('verify.finishedAt', { time: formatTime(v.finished_at) })}
          />
          {v.topics
            .filter((tp) => (tp.sequence_regressions ?? 0) > 0)
            .map((tp) => (
              <Alert key={tp.topic} type="warning" showIcon message={t('verify.sequence', { topic: tp.topic, count: tp.sequence_regressions ?? 0 })} />
            ))}
          <VerifyTables tables={v.tables} />
        </>
      )}
    </Space>
  );
}

function stateColor(v: Verify) {
  if (v.state === 'running') return 'processing';
  if (v.state === 'failed') return 'error';
  return v.clean ? 'success' : 'warning';
}

function VerifyTables({ tables }: { tables: VerifyTable[] }) {
  const { t } = useTranslation();
  const keys = (kind: 'missing' | 'extra' | 'different') => ({
    title: t(`verify.${kind}`),
    key: kind,
    render: (_: unknown, row: VerifyTable) => <KeysCell keys={row[kind]} testid={`verify-${kind}-${row.table}`} />,
  });
  return (
    <Table<VerifyTable>
      size="small"
      rowKey="table"
      pagination={false}
      dataSource={tables}
      data-testid="verify-tables"
      columns={[
        { title: t('verify.table'), dataIndex: 'table', key: 'table', render: (name: string, row) => <Space><span>{name}</span>{row.clean ? <Tag color="success">{t('verify.tableClean')}</Tag> : <Tag color="warning">{t('verify.tableDiffers')}</Tag>}</Space> },
        { title: t('verify.topic'), dataIndex: 'topic', key: 'topic' },
        {
          title: t('verify.comparison'),
          key: 'comparison',
          render: (_: unknown, row) => (row.comparison === 'key' ? t('verify.byKey', { columns: row.key_columns.join(', ') }) : t('verify.multiset')),
        },
        { title: t('verify.rowsChecked'), dataIndex: 'rows_checked', key: 'rows', render: (n: number, row) => <span data-testid={`verify-checked-${row.table}`}>{formatNumber(n)}</span> },
        keys('missing'),
        keys('extra'),
        keys('different'),
      ]}
    />
  );
}

function KeysCell({ keys, testid }: { keys: VerifyKeys; testid: string }) {
  if (keys.count === 0) return <span data-testid={testid} data-count={0}>0</span>;
  return (
    <Space orientation="vertical" size={0} data-testid={testid} data-count={keys.count}>
      <Typography.Text type="danger">{formatNumber(keys.count)}</Typography.Text>
      {keys.examples.map((k) => (
        <Typography.Text key={k} code>
          {k}
        </Typography.Text>
      ))}
    </Space>
  );
}
