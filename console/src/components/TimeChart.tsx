import { useEffect, useRef } from 'react';
import dayjs from 'dayjs';
import uPlot from 'uplot';

/** The shortest time span the x axis shows, in seconds. */
const MIN_SPAN_SECONDS = 60;

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
        // Without the cursor on the chart the legend shows the newest point, not "--".
        series: [
          { label: timeLabel, value: (u, v, _s, idx) => show(idx === null ? newest(u, 0) : v, (x) => dayjs.unix(x).format('HH:mm:ss')) },
          { label, stroke: color, width: 2, fill: `${color}22`, value: (u, v, _s, idx) => show(idx === null ? newest(u, 1) : v, (x) => String(Math.round(x * 10) / 10)) },
        ],
        // Ticks less than a minute apart (a young project) need their seconds to differ.
        axes: [{ values: (_u, splits, _a, _space, incr) => splits.map((v) => dayjs.unix(v).format(incr < 60 ? 'HH:mm:ss' : 'HH:mm')) }, { size: 60 }],
        // One point (a project sampled once) has no time span: show the minute before it.
        scales: { x: { time: true, range: (_u, min, max) => (min === null || max === null ? [0, 1] : max - min < MIN_SPAN_SECONDS ? [max - MIN_SPAN_SECONDS, max] : [min, max]) } },
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

/** The newest value of series `i`. */
function newest(u: uPlot, i: number): number | null {
  const data = u.data[i];
  return data.length ? (data[data.length - 1] ?? null) : null;
}

function show(v: number | null | undefined, format: (v: number) => string): string {
  return v === null || v === undefined ? '--' : format(v);
}
