import { useState } from 'react';
import { Button, Card, Empty, Input, InputNumber, Select, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useMessages } from '../api/projects';
import type { TopicMessage } from '../api/types';
import { ErrorAlert } from './ErrorAlert';
import { formatTime } from './ProjectBits';

/** A JSON value indented for reading; any other text as it is. */
export function prettyValue(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

/**
 * The latest messages of one of the project's topics, read by the server without a
 * consumer group: partition, offset, time, key, and the value pretty-printed when it is
 * JSON; a search by key. It only reads.
 */
export function TopicViewer({ projectId, topics }: { projectId: string; topics: string[] }) {
  const { t } = useTranslation();
  const [topic, setTopic] = useState<string | undefined>(undefined);
  const [partition, setPartition] = useState<number | null>(null);
  const [limit, setLimit] = useState(20);
  const [key, setKey] = useState('');
  const chosen = topic ?? topics[0];
  const messages = useMessages(projectId, chosen ? { topic: chosen, partition, limit, key: key || undefined } : null);
  const partitions = messages.data?.partitions ?? 0;
  return (
    <Card title={t('viewer.title')} size="small" data-testid="topic-viewer" extra={<Typography.Text type="secondary">{t('viewer.readOnly')}</Typography.Text>}>
      {topics.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('viewer.noTopics')} />
      ) : (
        <Space orientation="vertical" style={{ width: '100%' }}>
          <Space wrap>
            <Select style={{ minWidth: 240 }} value={chosen} onChange={(v: string) => { setTopic(v); setPartition(null); }} options={topics.map((x) => ({ value: x, label: x }))} data-testid="viewer-topic" />
            <Select
              style={{ width: 160 }}
              value={partition ?? -1}
              onChange={(v: number) => setPartition(v < 0 ? null : v)}
              options={[{ value: -1, label: t('viewer.allPartitions') }, ...Array.from({ length: partitions }, (_, i) => ({ value: i, label: t('viewer.partition', { n: i }) }))]}
              data-testid="viewer-partition"
            />
            <Space.Compact>
              <InputNumber min={1} max={200} value={limit} onChange={(v) => setLimit(v ?? 20)} data-testid="viewer-limit" />
              <Button disabled>{t('viewer.messages')}</Button>
            </Space.Compact>
            <Input.Search allowClear placeholder={t('viewer.searchKey')} style={{ width: 240 }} onSearch={setKey} data-testid="viewer-key" />
            <Button onClick={() => messages.refetch()} loading={messages.isFetching} data-testid="viewer-refresh">
              {t('viewer.refresh')}
            </Button>
          </Space>
          <ErrorAlert error={messages.error} />
          {messages.data && key && (
            <Typography.Text type="secondary" data-testid="viewer-scanned">
              {t('viewer.scanned', { count: messages.data.scanned })}
            </Typography.Text>
          )}
          <Table<TopicMessage>
            size="small"
            rowKey={(m) => `${m.partition}-${m.offset}`}
            loading={messages.isPending && !!chosen}
            dataSource={messages.data?.items ?? []}
            pagination={false}
            data-testid="viewer-messages"
            expandable={{
              expandedRowRender: (m) => (
                <pre style={{ margin: 0, maxHeight: 420, overflow: 'auto', background: '#f6f8fa', padding: 12 }} data-testid="viewer-value">
                  {prettyValue(m.value)}
                  {m.truncated && `\n… ${t('viewer.truncated', { bytes: m.value_bytes })}`}
                </pre>
              ),
            }}
            columns={[
              { title: t('viewer.partitionCol'), dataIndex: 'partition', width: 90 },
              { title: t('viewer.offset'), dataIndex: 'offset', width: 100 },
              { title: t('viewer.time'), dataIndex: 'timestamp', width: 190, render: (v?: string | null) => (v ? formatTime(v) : '-') },
              { title: t('viewer.key'), dataIndex: 'key', render: (k?: string | null) => (k ? <Typography.Text code>{k}</Typography.Text> : <Tag>null</Tag>) },
              {
                title: t('viewer.value'),
                dataIndex: 'value',
                ellipsis: true,
                render: (v: string | null | undefined, m) => (v === null || v === undefined ? <Tag>{t('viewer.tombstone')}</Tag> : <span>{v.slice(0, 160)}{m.value_bytes > 160 ? '…' : ''}</span>),
              },
            ]}
          />
        </Space>
      )}
    </Card>
  );
}
