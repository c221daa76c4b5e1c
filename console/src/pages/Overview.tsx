import { Card, Col, List as AntList, Row, Statistic, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { MAX_PAGE_SIZE, useProjects } from '../api/projects';
import type { Project } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { StateTag, useLagText } from '../components/ProjectBits';
import { STATES } from '../api/vocabulary';
import { eventMessage } from '../i18n/messages';

/** Failed first, then by lag, worst first: what needs a look comes first. */
export function attentionOrder(a: Project, b: Project): number {
  const failed = Number(b.state === 'failed') - Number(a.state === 'failed');
  if (failed !== 0) return failed;
  return (b.lag_seconds ?? -1) - (a.lag_seconds ?? -1);
}

export function OverviewPage() {
  const { t, i18n } = useTranslation();
  const lag = useLagText();
  // The API's largest page; the counts come from the totals per state below.
  const projects = useProjects({}, { page: 1, page_size: MAX_PAGE_SIZE });
  const items = projects.data?.items ?? [];
  const counts = new Map<string, number>();
  for (const p of items) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  const attention = [...items].filter((p) => p.state === 'failed' || (p.lag_seconds ?? 0) > 0).sort(attentionOrder).slice(0, 10);

  return (
    <div>
      <ErrorAlert error={projects.error} />
      <Typography.Title level={4}>{t('overview.title')}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6} lg={4}>
          <Card>
            <Statistic title={t('overview.total')} value={projects.data?.total ?? 0} />
          </Card>
        </Col>
        {STATES.filter((s) => counts.has(s) || ['running', 'paused', 'failed', 'not_started'].includes(s)).map((s) => (
          <Col xs={12} md={6} lg={4} key={s}>
            <Card data-testid={`overview-count-${s}`}>
              <Statistic title={t(`state.${s}`)} value={counts.get(s) ?? 0} valueStyle={s === 'failed' && counts.get(s) ? { color: '#cf1322' } : undefined} />
            </Card>
          </Col>
        ))}
      </Row>
      <Card title={t('overview.attention')} style={{ marginTop: 16 }}>
        <AntList
          dataSource={attention}
          locale={{ emptyText: t('overview.allWell') }}
          renderItem={(p) => (
            <AntList.Item>
              <AntList.Item.Meta
                title={
                  <span>
                    <Link to={`/projects/${p.id}`}>{p.spec.name}</Link> <StateTag state={p.state} />
                  </span>
                }
                description={p.last_error ? (p.last_error.code ? eventMessage(t, i18n, p.last_error) : `${t('errors.PROJECT_FAILED')}: ${p.last_error.message}`) : `${p.source.name} → ${p.target.name}`}
              />
              <div>
                {t('projects.lag')}: {lag(p.lag_seconds)}
              </div>
            </AntList.Item>
          )}
        />
      </Card>
    </div>
  );
}
