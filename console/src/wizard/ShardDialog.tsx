import { useState } from 'react';
import { Alert, Modal, Select, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useColumns } from '../api/datasources';
import { ErrorAlert } from '../components/ErrorAlert';
import { checkShardColumns, hasChinese } from '../rules';
import type { TableMapping } from './mapping';

/** A table's settings: its shard columns, default the primary key. */
export function ShardDialog({
  sourceId,
  mapping,
  onClose,
  onOk,
}: {
  sourceId: string;
  mapping: TableMapping | null;
  onClose: () => void;
  onOk: (shard: string[] | null) => void;
}) {
  const { t } = useTranslation();
  const columns = useColumns(sourceId, mapping);
  const primaryKey = (columns.data?.items ?? []).filter((c) => c.primary_key).map((c) => c.name);
  // null until the user changes the choice: then the table's shard columns, or its primary key.
  const [choice, setChoice] = useState<{ table: string; columns: string[] } | null>(null);
  const picked = choice && choice.table === mapping?.table ? choice.columns : (mapping?.shard ?? primaryKey);
  const setPicked = (columns: string[]) => setChoice({ table: mapping!.table, columns });

  const error = columns.data ? checkShardColumns(picked, columns.data.items) : null;
  const ok = () => {
    if (error) return;
    const samePk = picked.length === primaryKey.length && picked.every((c) => primaryKey.includes(c));
    onOk(picked.length === 0 || samePk ? null : picked);
  };
  return (
    <Modal
      open={mapping !== null}
      title={t('wizard.shard.title', { table: mapping?.table ?? '' })}
      onCancel={onClose}
      onOk={ok}
      okText={t('common.ok')}
      cancelText={t('common.cancel')}
      okButtonProps={{ disabled: !!error || columns.isPending, 'data-testid': 'shard-ok' }}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Alert type="info" showIcon title={t('wizard.shard.explain')} />
        <ErrorAlert error={columns.error} />
        <Typography.Text>{t('wizard.shard.columns')}</Typography.Text>
        <Select
          mode="multiple"
          loading={columns.isPending}
          value={picked}
          onChange={setPicked}
          style={{ width: '100%' }}
          placeholder={t('wizard.shard.defaultPk')}
          data-testid="shard-columns"
          options={(columns.data?.items ?? []).map((c) => {
            const reason = c.invalid_reason || hasChinese(c.name) ? t('wizard.objects.chineseName') : null;
            return {
              value: c.name,
              disabled: !!reason,
              label: `${c.name} (${c.type})${c.primary_key ? ` · ${t('wizard.shard.pk')}` : ''}${reason ? ` · ${reason}` : ''}`,
            };
          })}
        />
        <Typography.Text type="secondary">{primaryKey.length > 0 ? t('wizard.shard.pkIs', { columns: primaryKey.join(', ') }) : t('wizard.shard.noPk')}</Typography.Text>
        {error && <Typography.Text type="danger">{t(error.key, error.values)}</Typography.Text>}
      </Space>
    </Modal>
  );
}
