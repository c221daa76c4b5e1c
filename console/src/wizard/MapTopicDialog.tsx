import { useState } from 'react';
import { Alert, Form, Input, Modal, Radio, Select, Space, Typography } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { get } from '../api/client';
import type { TopicInfo } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { checkTopicName } from '../rules';

type Mode = 'new' | 'existing' | 'batch';

interface MapTopicDialogProps {
  open: boolean;
  targetId: string;
  count: number;
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
  count,
  onClose,
  onOk,
}: MapTopicDialogProps) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<Mode>('new');
  const [newTopic, setNewTopic] = useState('');
  const [existing, setExisting] = useState<string | undefined>();
  const [touched, setTouched] = useState(false);
  const topics = useQuery({
    queryKey: ['datasource', targetId, 'topics'],
    queryFn: () => get<{ items: TopicInfo[] }>(`/datasources/${targetId}/topics`),
    enabled: mode === 'existing',
  });

  const topicError = checkTopicName(newTopic);
  const ok = () => {
    setTouched(true);
    if (mode === 'new' && !topicError) onOk(newTopic);
    if (mode === 'existing' && existing) onOk(existing);
    if (mode === 'batch') onOk(null);
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
        {mode === 'batch' && <Alert type="info" showIcon title={t('wizard.map.batchRule')} description={<Typography.Text code>{'Topic_${Database Name}_${Table Name}'}</Typography.Text>} />}
      </Space>
    </Modal>
  );
}
