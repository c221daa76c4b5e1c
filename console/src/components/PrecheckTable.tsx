import { Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Precheck, PrecheckItem } from '../api/types';
import { precheckMessage } from '../i18n/messages';

const COLOR: Record<PrecheckItem['status'], string> = { pass: 'success', fail: 'error', warn: 'warning', not_checked: 'default' };

/** Every precheck item with its status and, when it did not pass, the fix. */
export function PrecheckTable({ precheck }: { precheck: Precheck }) {
  const { t, i18n } = useTranslation();
  // Known items by name in the user's language (one per topic by its prefix); others as the server names them.
  const TOPIC_ITEM = 'kafka.topic.';
  const itemName = (name: string) => {
    if (name.startsWith(TOPIC_ITEM)) return t('precheck.items.kafka.topic', { topic: name.slice(TOPIC_ITEM.length) });
    return i18n.exists(`precheck.items.${name}`) ? `${t(`precheck.items.${name}`)} (${name})` : name;
  };
  return (
    <Table<PrecheckItem>
      size="small"
      rowKey={(item, i) => `${item.name}-${i}`}
      pagination={false}
      dataSource={precheck.items}
      data-testid="precheck-items"
      rowClassName={(item) => `precheck-${item.status}`}
      columns={[
        { title: t('precheck.item'), dataIndex: 'name', width: 280, render: (name: string) => itemName(name) },
        { title: t('precheck.status'), dataIndex: 'status', width: 110, render: (s: PrecheckItem['status']) => <Tag color={COLOR[s]}>{t(`precheck.statuses.${s}`)}</Tag> },
        { title: t('precheck.message'), dataIndex: 'message', render: (_: string, item: PrecheckItem) => precheckMessage(t, i18n, item).detail },
        {
          title: t('precheck.fix'),
          dataIndex: 'fix',
          render: (_: unknown, item: PrecheckItem) => {
            const { fix } = precheckMessage(t, i18n, item);
            return fix ? <Typography.Text type="warning">{fix}</Typography.Text> : '-';
          },
        },
      ]}
    />
  );
}
