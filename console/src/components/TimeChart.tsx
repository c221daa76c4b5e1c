import { useEffect, useRef } from 'react';
import dayjs from 'dayjs';
import uPlot from 'uplot';

/**
 * A line chart of one series over time (seconds since the epoch), sized to its container.
 * Times are written by dayjs, so no English month or legend text of uPlot's shows.
 */
export function TimeChart({
  times,
  values,
  label,
  timeLabel,
  color,
  testId,
}: {
  times: number[];
  values: (number | null)[];
  label: string;
  timeLabel: string;
  color: string;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    plot.current = new uPlot(
      {
        width: el.clientWidth || 400,
        height: 180,
        series: [
          { label: timeLabel, value: (_u, v) => (v === null ? '--' : dayjs.unix(v).format('HH:mm:ss')) },
          { label, stroke: color, width: 2, fill: `${color}22` },
        ],
        axes: [{ values: (_u, splits) => splits.map((v) => dayjs.unix(v).format('HH:mm')) }, { size: 60 }],
        legend: { show: true },
      },
      [[], []],
      el,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth || 400, height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [label, timeLabel, color]);

  useEffect(() => {
    plot.current?.setData([times, values]);
  }, [times, values]);

  return <div ref={box} data-testid={testId} data-points={times.length} />;
}
