import { Tag } from 'antd';
import dayjs from 'dayjs';
import { useTranslation } from 'react-i18next';
import type { ProjectState, Stage } from '../api/types';

const STATE_COLOR: Record<ProjectState, string> = {
  not_started: 'default',
  prechecking: 'processing',
  precheck_failed: 'warning',
  running: 'success',
  paused: 'gold',
  failed: 'error',
  finished: 'cyan',
  releasing: 'processing',
  released: 'default',
};

export function StateTag({ state }: { state: ProjectState }) {
  const { t } = useTranslation();
  return (
    <Tag color={STATE_COLOR[state] ?? 'default'} data-testid="project-state" data-state={state}>
      {t(`state.${state}`)}
    </Tag>
  );
}

export function StageText({ stage }: { stage?: Stage | null }) {
  const { t } = useTranslation();
  if (!stage) return <>-</>;
  return <>{t(`stage.${stage}`)}</>;
}

/** A lag in seconds as "3 s", "4 min 10 s", "2 h 5 min"; "-" when unknown. */
export function useLagText() {
  const { t } = useTranslation();
  return (seconds?: number | null): string => {
    if (seconds === null || seconds === undefined) return '-';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return t('units.seconds', { n: s });
    if (s < 3600) return t('units.minutesSeconds', { m: Math.floor(s / 60), s: s % 60 });
    return t('units.hoursMinutes', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  };
}

export function formatTime(value?: string | number | null): string {
  if (value === null || value === undefined || value === '') return '-';
  const d = typeof value === 'number' ? dayjs.unix(value) : dayjs(value);
  return d.isValid() ? d.format('YYYY-MM-DD HH:mm:ss') : String(value);
}

export function formatNumber(n?: number | null, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  return n.toLocaleString(undefined, { maximumFractionDigits: digits });
}
