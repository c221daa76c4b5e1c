import { useMemo, useState } from 'react';
import { Alert, Button, Card, Checkbox, Col, Empty, Input, Popconfirm, Row, Space, Tag, Tooltip, Tree, Typography } from 'antd';
import type { TreeDataNode } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { tablesQuery, useDatabases } from '../api/datasources';
import { STAGES } from '../api/vocabulary';
import type { SyncType, TableInfo } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { checkMappable } from '../rules';
import { assign, targetTree, type TableMapping } from './mapping';
import { MapTopicDialog } from './MapTopicDialog';
import { ShardDialog } from './ShardDialog';
import type { Draft, DraftUpdate } from './draft';

/** Tree height in pixels; with a fixed height antd renders only the visible rows (virtual list). */
const TREE_HEIGHT = 420;

/**
 * The object step. With `inProject` (a running or paused project's object change) the sync
 * types stay as they are and the target tree marks each table as in the project or added.
 */
export function StepObjects({ draft, update, inProject }: { draft: Draft; update: DraftUpdate; inProject?: ReadonlySet<string> }) {
  const { t } = useTranslation();
  const sourceId = draft.source_id!;
  const queryClient = useQueryClient();
  const databases = useDatabases(sourceId);
  const [tables, setTables] = useState<Record<string, TableInfo[]>>({});
  const [loadError, setLoadError] = useState<unknown>(null);
  const [search, setSearch] = useState('');
  const [checked, setChecked] = useState<string[]>([]);
  const [expanded, setExpanded] = useState<string[]>([]);
  const [mapping, setMapping] = useState<{ tables: string[] } | null>(null);
  const [shardFor, setShardFor] = useState<TableMapping | null>(null);

  // Loaded as the tree opens; a failure shows above the tree and the database stays empty.
  const loadTables = (db: string): Promise<TableInfo[]> =>
    queryClient.fetchQuery(tablesQuery(sourceId, db)).then(
      (list) => {
        setTables((old) => ({ ...old, [db]: list.items }));
        return list.items;
      },
      (e: unknown) => {
        setLoadError(e);
        return [];
      },
    );

  // A search looks through every database, so their tables are loaded once it starts.
  const searchFor = (text: string) => {
    setSearch(text);
    if (!text || !databases.data) return;
    for (const db of databases.data.items) if (!tables[db.name]) void loadTables(db.name);
    setExpanded(databases.data.items.map((db) => `db:${db.name}`));
  };

  const mapped = useMemo(() => new Set(draft.mappings.map((m) => m.table)), [draft.mappings]);
  // Why a table cannot be mapped, by the server's rules (Chinese characters, a `.`): shown
  // in the user's language, with the server's own words on hover when it gave a reason.
  const invalidReason = (db: string, tb: TableInfo) => {
    if (tb.invalid_reason) return t('wizard.objects.chineseName');
    const problem = checkMappable(db, tb.name);
    return problem ? t(problem.key, problem.values) : null;
  };
  const needle = search.trim().toLowerCase();

  const treeData: TreeDataNode[] = (databases.data?.items ?? [])
    .map((db): TreeDataNode | null => {
      const dbTables = tables[db.name];
      const dbMatches = !needle || db.name.toLowerCase().includes(needle);
      const children = dbTables
        ?.filter((tb) => dbMatches || tb.name.toLowerCase().includes(needle))
        .map((tb): TreeDataNode => {
          const key = `${db.name}.${tb.name}`;
          const reason = invalidReason(db.name, tb);
          const isMapped = mapped.has(key);
          return {
            key: `t:${key}`,
            isLeaf: true,
            disabled: !!reason,
            disableCheckbox: isMapped,
            title: (
              <span data-testid={`src-table-${key}`}>
                {tb.name}{' '}
                {!tb.has_primary_key && <Tag>{t('wizard.objects.noPk')}</Tag>}
                {isMapped && <Tag color="blue">{t('wizard.objects.mapped')}</Tag>}
                {reason && (
                  <Tooltip title={tb.invalid_reason ?? reason}>
                    <Typography.Text type="danger">{reason}</Typography.Text>
                  </Tooltip>
                )}
              </span>
            ),
          };
        });
      if (needle && !dbMatches && dbTables && children?.length === 0) return null;
      const dbProblem = checkMappable(db.name, '');
      const dbReason = dbProblem ? t(dbProblem.key, dbProblem.values) : null;
      return {
        key: `db:${db.name}`,
        disabled: !!dbReason,
        title: (
          <span data-testid={`src-db-${db.name}`}>
            {db.name} {dbReason && <Typography.Text type="danger">{dbReason}</Typography.Text>}
          </span>
        ),
        children,
      };
    })
    .filter((n): n is TreeDataNode => n !== null);

  /** The checked tables, those of checked databases included (loaded now if need be). */
  const selectedTables = async (): Promise<string[]> => {
    const out = new Set<string>();
    for (const key of checked) {
      if (key.startsWith('t:')) out.add(key.slice(2));
      else if (key.startsWith('db:')) {
        const db = key.slice(3);
        const list = tables[db] ?? (await loadTables(db));
        for (const tb of list) if (!invalidReason(db, tb) && (!needle || tb.name.toLowerCase().includes(needle) || db.toLowerCase().includes(needle))) out.add(`${db}.${tb.name}`);
      }
    }
    return [...out].filter((x) => !mapped.has(x));
  };

  const toggleType = (type: SyncType, on: boolean) =>
    update({ types: STAGES.filter((x) => (x === type ? on : draft.types.includes(x))) });

  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="large">
      {!inProject && (
        <Card size="small" title={t('wizard.objects.syncTypes')}>
          <Space orientation="vertical">
            {STAGES.map((type) => (
              <Checkbox key={type} checked={draft.types.includes(type)} onChange={(e) => toggleType(type, e.target.checked)} data-testid={`type-${type}`}>
                <b>{t(`stage.${type}`)}</b> <Typography.Text type="secondary">{t(`wizard.objects.typeNote.${type}`)}</Typography.Text>
              </Checkbox>
            ))}
          </Space>
        </Card>
      )}
      <ErrorAlert error={databases.error ?? loadError} />
      <Row gutter={16} wrap={false}>
        <Col flex="1">
          <Card size="small" title={t('wizard.objects.sourceObjects')}>
            <Input.Search allowClear placeholder={t('wizard.objects.search')} onChange={(e) => searchFor(e.target.value)} style={{ marginBottom: 8 }} data-testid="objects-search" />
            <Tree
              checkable
              blockNode
              height={TREE_HEIGHT}
              treeData={treeData}
              checkedKeys={checked}
              expandedKeys={expanded}
              onExpand={(keys) => setExpanded(keys as string[])}
              onCheck={(keys) => setChecked((Array.isArray(keys) ? keys : keys.checked) as string[])}
              loadData={async (node) => {
                const key = String(node.key);
                if (key.startsWith('db:') && !tables[key.slice(3)]) await loadTables(key.slice(3));
              }}
              data-testid="source-tree"
            />
          </Card>
        </Col>
        <Col style={{ alignSelf: 'center' }}>
          <Tooltip title={t('wizard.objects.mapSelected')}>
            <Button
              type="primary"
              data-testid="objects-map"
              onClick={async () => {
                const list = await selectedTables();
                if (list.length > 0) setMapping({ tables: list });
              }}
            >
              &gt;
            </Button>
          </Tooltip>
        </Col>
        <Col flex="1">
          <TargetPanel draft={draft} update={update} inProject={inProject} onChangeTopic={(m) => setMapping({ tables: [m.table] })} onSettings={setShardFor} />
        </Col>
      </Row>
      <MapTopicDialog
        open={mapping !== null}
        targetId={draft.target_id!}
        tables={mapping?.tables ?? []}
        onClose={() => setMapping(null)}
        onOk={(topic) => {
          update({ mappings: assign(draft.mappings, mapping!.tables, topic) });
          setChecked([]);
          setMapping(null);
        }}
      />
      <ShardDialog
        sourceId={sourceId}
        mapping={shardFor}
        onClose={() => setShardFor(null)}
        onOk={(shard) => {
          update({ mappings: draft.mappings.map((m) => (m.table === shardFor!.table ? { ...m, shard } : m)) });
          setShardFor(null);
        }}
      />
    </Space>
  );
}

function TargetPanel({
  draft,
  update,
  inProject,
  onChangeTopic,
  onSettings,
}: {
  draft: Draft;
  update: DraftUpdate;
  inProject?: ReadonlySet<string>;
  onChangeTopic: (m: TableMapping) => void;
  onSettings: (m: TableMapping) => void;
}) {
  const { t } = useTranslation();
  const tree = targetTree(draft.mappings);
  // Every node open unless the user closed it, also for topics and databases added later.
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const branchKeys = tree.flatMap((topic) => [`topic:${topic.topic}`, ...topic.databases.map((db) => `topic:${topic.topic}/db:${db.database}`)]);
  const remove = (table: string) => update({ mappings: draft.mappings.filter((m) => m.table !== table) });
  const treeData: TreeDataNode[] = tree.map((topic) => ({
    key: `topic:${topic.topic}`,
    title: (
      <span data-testid={`dst-topic-${topic.topic}`}>
        <Tag color="geekblue">{t('wizard.objects.topic')}</Tag>
        {topic.topic}
      </span>
    ),
    children: topic.databases.map((db) => ({
      key: `topic:${topic.topic}/db:${db.database}`,
      title: db.database,
      children: db.tables.map((m) => ({
        key: `topic:${topic.topic}/t:${m.table}`,
        isLeaf: true,
        title: (
          <span className="obsync-object" data-testid={`dst-table-${m.table}`}>
            {m.name}
            {inProject &&
              (inProject.has(m.table) ? (
                <Tag style={{ marginLeft: 8 }} data-testid={`dst-in-project-${m.table}`}>
                  {t('objects.inProject')}
                </Tag>
              ) : (
                <Tag color="green" style={{ marginLeft: 8 }} data-testid={`dst-added-${m.table}`}>
                  {t('objects.added')}
                </Tag>
              ))}
            {m.shard && m.shard.length > 0 && <Tag style={{ marginLeft: 8 }}>{t('wizard.objects.shardShort', { columns: m.shard.join(', ') })}</Tag>}
            <span className="obsync-object-actions">
              <Button type="link" size="small" onClick={() => onChangeTopic(m)} data-testid={`dst-change-${m.table}`}>
                {t('wizard.objects.changeTopic')}
              </Button>
              <Button type="link" size="small" onClick={() => onSettings(m)} data-testid={`dst-settings-${m.table}`}>
                {t('wizard.objects.settings')}
              </Button>
              <Button type="link" size="small" danger onClick={() => remove(m.table)} data-testid={`dst-remove-${m.table}`}>
                {t('wizard.objects.remove')}
              </Button>
            </span>
          </span>
        ),
      })),
    })),
  }));
  return (
    <Card
      size="small"
      title={t('wizard.objects.targetObjects', { count: draft.mappings.length })}
      extra={
        <Popconfirm title={t('wizard.objects.removeAllConfirm')} onConfirm={() => update({ mappings: [] })} okText={t('common.ok')} cancelText={t('common.cancel')} disabled={draft.mappings.length === 0}>
          <Button size="small" danger disabled={draft.mappings.length === 0} data-testid="dst-remove-all">
            {t('wizard.objects.removeAll')}
          </Button>
        </Popconfirm>
      }
    >
      <style>{'.obsync-object-actions{opacity:0;margin-left:8px}.ant-tree-treenode:hover .obsync-object-actions,.obsync-object:focus-within .obsync-object-actions{opacity:1}'}</style>
      {treeData.length === 0 ? (
        <Empty description={t('wizard.objects.nothingMapped')} style={{ height: TREE_HEIGHT - 40 }} />
      ) : (
        <Tree
          blockNode
          height={TREE_HEIGHT}
          treeData={treeData}
          selectable={false}
          expandedKeys={branchKeys.filter((k) => !collapsed.has(k))}
          onExpand={(keys) => setCollapsed(new Set(branchKeys.filter((k) => !keys.includes(k))))}
          data-testid="target-tree"
        />
      )}
      {draft.mappings.some((m) => m.topic === null) && <Alert type="info" showIcon style={{ marginTop: 8 }} title={t('wizard.objects.batchNote')} />}
    </Card>
  );
}
