import { useState } from 'react';
import { Alert, Form, Input, Modal, Radio, Select, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useTopics } from '../api/datasources';
import { ErrorAlert } from '../components/ErrorAlert';
import { RULES, checkBatchTopic, checkTopicName } from '../rules';
import { splitTable } from './mapping';

type Mode = 'new' | 'existing' | 'batch';

interface MapTopicDialogProps {
  open: boolean;
  targetId: string;
  /** The tables to map ("db.table"). */
  tables: string[];
  onClose: () => void;
  onOk: (topic: string | null) => void;
}

/** "Map objects to topic": a new topic, an existing one, or the batch rule (topic null). */
export function MapTopicDialog(props: MapTopicDialogProps) {
  // Mounted only while open, so each opening starts empty.
  return props.open ? <MapTopicForm {...props} /> : null;
}

function MapTopicForm({
  targetId,
  tables,
  onClose,
  onOk,
}: MapTopicDialogProps) {
  const count = tables.length;
  const { t } = useTranslation();
  const [mode, setMode] = useState<Mode>('new');
  const [newTopic, setNewTopic] = useState('');
  const [existing, setExisting] = useState<string | undefined>();
  const [touched, setTouched] = useState(false);
  const topics = useTopics(targetId, mode === 'existing');

  const topicError = checkTopicName(newTopic);
  // The batch rule builds a topic per table: each must be a valid topic name.
  const batchErrors = tables.flatMap((table) => {
    const { database, name } = splitTable(table);
    const problem = checkBatchTopic(database, name);
    return problem ? [{ table, problem }] : [];
  });
  const ok = () => {
    setTouched(true);
    if (mode === 'new' && !topicError) onOk(newTopic);
    if (mode === 'existing' && existing) onOk(existing);
    if (mode === 'batch' && batchErrors.length === 0) onOk(null);
  };
  return (
    <Modal
      open
      title={t('wizard.map.title', { count })}
      onCancel={onClose}
      onOk={ok}
      okText={t('common.ok')}
      cancelText={t('common.cancel')}
      okButtonProps={{ 'data-testid': 'map-ok' }}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Radio.Group value={mode} onChange={(e) => setMode(e.target.value as Mode)} data-testid="map-mode">
          <Radio value="new">{t('wizard.map.new')}</Radio>
          <Radio value="existing">{t('wizard.map.existing')}</Radio>
          <Radio value="batch">{t('wizard.map.batch')}</Radio>
        </Radio.Group>
        {mode === 'new' && (
          <Form.Item
            validateStatus={touched || newTopic ? (topicError ? 'error' : 'success') : undefined}
            help={(touched || newTopic) && topicError ? t(topicError.key, topicError.values) : t('wizard.map.newNote')}
          >
            <Input value={newTopic} onChange={(e) => setNewTopic(e.target.value)} placeholder={t('wizard.map.topicName')} data-testid="map-new-topic" />
          </Form.Item>
        )}
        {mode === 'existing' && (
          <>
            <ErrorAlert error={topics.error} />
            <Select
              showSearch
              loading={topics.isPending}
              value={existing}
              onChange={setExisting}
              placeholder={t('wizard.map.pickTopic')}
              style={{ width: '100%' }}
              options={(topics.data?.items ?? []).map((tp) => ({ value: tp.name, label: `${tp.name} (${t('wizard.map.partitions', { count: tp.partitions })})` }))}
              data-testid="map-existing"
            />
            {touched && !existing && <Typography.Text type="danger">{t('wizard.map.pickTopic')}</Typography.Text>}
          </>
        )}
        {mode === 'batch' && (
          <Alert
            type="info"
            showIcon
            title={t('wizard.map.batchRule')}
            description={<Typography.Text code>{RULES.topic.batch_template.replace('{database}', '${Database Name}').replace('{table}', '${Table Name}')}</Typography.Text>}
          />
        )}
        {mode === 'batch' &&
          batchErrors.map(({ table, problem }) => (
            <Alert key={table} type="error" showIcon data-testid="map-batch-error" title={table} description={t(problem.key, problem.values)} />
          ))}
      </Space>
    </Modal>
  );
}
