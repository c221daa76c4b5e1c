import { useState } from 'react';
import { Input, Modal, Space, Typography } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from './ErrorAlert';

/**
 * A dialog for an action that cannot be undone (release, delete): it says what follows and
 * enables its button only once the project's name is typed. `action` runs on OK; its error
 * stays in the dialog.
 */
export function ConfirmByName({
  name,
  open,
  title,
  explain,
  okText,
  testId,
  action,
  onClose,
}: {
  name: string;
  open: boolean;
  title: string;
  explain: string;
  okText: string;
  /** `<testId>-name` on the input, `<testId>-confirm` on the button. */
  testId: string;
  action: () => Promise<void>;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const [typed, setTyped] = useState('');
  const run = useMutation({ mutationFn: action });
  const confirm = () => run.mutate();
  return (
    <Modal
      open={open}
      title={title}
      onCancel={onClose}
      onOk={confirm}
      okText={okText}
      cancelText={t('common.cancel')}
      okButtonProps={{ danger: true, disabled: typed !== name, loading: run.isPending, ...{ 'data-testid': `${testId}-confirm` } }}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Typography.Text>{explain}</Typography.Text>
        <Input value={typed} onChange={(e) => setTyped(e.target.value)} placeholder={name} data-testid={`${testId}-name`} />
        <ErrorAlert error={run.error} />
      </Space>
    </Modal>
  );
}
