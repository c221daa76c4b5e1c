import { useState } from 'react';
import { Button, Form, Input, Select, Space } from 'antd';
import { useTranslation } from 'react-i18next';
import { useDataSources } from '../api/datasources';
import { useTags } from '../api/tags';
import type { FieldProblem } from '../api/types';
import { PROJECT_NAME_MAX, checkProjectName } from '../rules';
import { DataSourceDialog } from '../pages/DataSourceDialog';
import { TagDialog } from '../pages/Tags';
import type { Draft, DraftUpdate } from './draft';
import { problemText, problemsOf } from './serverErrors';

/** OMS allows at most 4 tags on a project. */
const MAX_TAGS = 4;

export function StepSourceTarget({ draft, update, problems = [] }: { draft: Draft; update: DraftUpdate; problems?: FieldProblem[] }) {
  const { t, i18n } = useTranslation();
  const sources = useDataSources();
  const tags = useTags();
  /** The server's refusal of a field, shown at it (validateStatus + help). */
  const server = (field: string) => {
    const ps = problemsOf(problems, field, true);
    return ps.length > 0 ? { validateStatus: 'error' as const, help: <span data-testid={`server-error-${field}`}>{ps.map((p) => problemText(t, i18n, p)).join('; ')}</span> } : {};
  };
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
        {...server('name')}
      >
        <Input value={draft.name} onChange={(e) => update({ name: e.target.value })} data-testid="wizard-name" maxLength={80} showCount={{ formatter: ({ count }) => `${count} / ${PROJECT_NAME_MAX}` }} />
      </Form.Item>
      <Form.Item label={t('wizard.tags')} help={t('wizard.tagsHint', { max: MAX_TAGS })} {...server('tag_ids')}>
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
      <Form.Item label={t('wizard.source')} required {...server('source_id')}>
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
      <Form.Item label={t('wizard.target')} required {...server('target_id')}>
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
