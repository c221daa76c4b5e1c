import { useState } from 'react';
import { Button, Form, Input, Select, Space } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { get } from '../api/client';
import type { DataSource, List, Tag } from '../api/types';
import { checkProjectName } from '../rules';
import { DataSourceDialog } from '../pages/DataSourceDialog';
import { TagDialog } from '../pages/Tags';
import type { Draft, DraftUpdate } from './Wizard';

/** OMS allows at most 4 tags on a project. */
const MAX_TAGS = 4;

export function StepSourceTarget({ draft, update }: { draft: Draft; update: DraftUpdate }) {
  const { t } = useTranslation();
  const sources = useQuery({ queryKey: ['datasources'], queryFn: () => get<List<DataSource>>('/datasources') });
  const tags = useQuery({ queryKey: ['tags'], queryFn: () => get<List<Tag>>('/tags') });
  const [adding, setAdding] = useState<'source' | 'target' | null>(null);
  const [tagDialog, setTagDialog] = useState(false);
  const all = sources.data?.items ?? [];
  const nameError = draft.name ? checkProjectName(draft.name) : null;

  return (
    <Form layout="vertical" style={{ maxWidth: 640 }}>
      <Form.Item
        label={t('wizard.name')}
        required
        validateStatus={nameError ? 'error' : undefined}
        help={nameError ? t(nameError.key, nameError.values) : t('wizard.nameHint')}
      >
        <Input value={draft.name} onChange={(e) => update({ name: e.target.value })} data-testid="wizard-name" maxLength={80} showCount={{ formatter: ({ count }) => `${count} / 64` }} />
      </Form.Item>
      <Form.Item label={t('wizard.tags')} help={t('wizard.tagsHint', { max: MAX_TAGS })}>
        <Space.Compact style={{ width: '100%' }}>
          <Select
            mode="multiple"
            value={draft.tag_ids}
            onChange={(ids: string[]) => update({ tag_ids: ids.slice(0, MAX_TAGS) })}
            options={(tags.data?.items ?? []).map((tag) => ({ value: tag.id, label: tag.name }))}
            style={{ flex: 1 }}
            data-testid="wizard-tags"
            placeholder={t('wizard.pickTags')}
          />
          <Button onClick={() => setTagDialog(true)}>{t('wizard.newTag')}</Button>
        </Space.Compact>
      </Form.Item>
      <Form.Item label={t('wizard.source')} required>
        <Space.Compact style={{ width: '100%' }}>
          <Select
            value={draft.source_id}
            onChange={(id: string) => update({ source_id: id, mappings: [] })}
            options={all.filter((d) => d.kind !== 'kafka').map((d) => ({ value: d.id, label: `${d.name} (${t(`kind.${d.kind}`)})` }))}
            style={{ flex: 1 }}
            data-testid="wizard-source"
            placeholder={t('wizard.pickSourcePlaceholder')}
          />
          <Button onClick={() => setAdding('source')} data-testid="wizard-add-source">
            {t('wizard.addDataSource')}
          </Button>
        </Space.Compact>
      </Form.Item>
      <Form.Item label={t('wizard.target')} required>
        <Space.Compact style={{ width: '100%' }}>
          <Select
            value={draft.target_id}
            onChange={(id: string) => update({ target_id: id })}
            options={all.filter((d) => d.kind === 'kafka').map((d) => ({ value: d.id, label: `${d.name} (${t('kind.kafka')})` }))}
            style={{ flex: 1 }}
            data-testid="wizard-target"
            placeholder={t('wizard.pickTargetPlaceholder')}
          />
          <Button onClick={() => setAdding('target')} data-testid="wizard-add-target">
            {t('wizard.addDataSource')}
          </Button>
        </Space.Compact>
      </Form.Item>
      <DataSourceDialog
        open={adding !== null}
        kinds={adding === 'target' ? ['kafka'] : ['oceanbase', 'mysql', 'mariadb']}
        onClose={() => setAdding(null)}
        onSaved={(ds) => update(ds.kind === 'kafka' ? { target_id: ds.id } : { source_id: ds.id, mappings: [] })}
      />
      <TagDialog
        open={tagDialog}
        editing={null}
        onClose={(saved) => {
          setTagDialog(false);
          if (saved) update({ tag_ids: [...draft.tag_ids, saved.id].slice(0, MAX_TAGS) });
        }}
      />
    </Form>
  );
}
