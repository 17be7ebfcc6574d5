/**
 * Server-rendered SVG charts (no script, so the page's strict CSP holds): a column chart for
 * series over time and a bar list for rankings. Each chart is an image with a title and a
 * description for screen readers, labelled axes, and a viewBox that scales to the screen; sizes
 * are chosen so that labels stay at least about 10 px tall on a 360 px wide phone.
 */

export interface Point {
  label: string;
  value: number;
}

const WIDTH = 400;
const FONT = 12;
const INK = "#1d1d1f";
const MUTED = "#595959";
const GRID = "#d0d0d0";
const BAR = "#0b57d0";

/** Round-number ticks from 0 covering `max` (about four of them). */
export function niceTicks(max: number, count = 4, integer = false): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const nice = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  // Counts get whole-number steps (no "0.25 invocations").
  const step = integer ? Math.max(1, Math.ceil(nice)) : nice;
  const ticks: number[] = [];
  for (let tick = 0; tick < max + step * 0.999; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

/** 1 234 → "1.2k", 12 345 678 → "12M": short labels for axes. */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toFixed(abs >= 1e7 ? 0 : 1))}M`;
  if (abs >= 1e3) return `${Number((value / 1e3).toFixed(abs >= 1e4 ? 0 : 1))}k`;
  return String(Number(value.toFixed(abs < 10 ? 2 : 1)));
}

export function ColumnChart(props: {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  points: Point[];
  /** The values are counts: whole-number ticks. */
  counts?: boolean;
}) {
  const { id, title, xLabel, yLabel, points } = props;
  const height = 240;
  const left = 52;
  const right = 8;
  const top = 12;
  const bottom = 52;
  const plotW = WIDTH - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...points.map((p) => p.value));
  const ticks = niceTicks(max, 4, props.counts === true);
  const scaleMax = ticks[ticks.length - 1] ?? 1;
  const y = (value: number) => top + plotH - (value / scaleMax) * plotH;
  const slot = plotW / Math.max(1, points.length);
  const labelEvery = Math.max(1, Math.ceil(points.length / 6));
  const description = points.map((p) => `${p.label}: ${shortNumber(p.value)}`).join("; ");
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        width="100%"
        preserveAspectRatio="xMidYMid meet"
        font-family="system-ui, sans-serif"
        font-size={FONT}
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description || "No data"}</desc>
        {ticks.map((tick) => (
          <g>
            <line x1={left} x2={WIDTH - right} y1={y(tick)} y2={y(tick)} stroke={GRID} stroke-width="1" />
            <text x={left - 6} y={y(tick) + 4} text-anchor="end" fill={MUTED}>
              {shortNumber(tick)}
            </text>
          </g>
        ))}
        {points.map((point, i) => {
          const barH = (point.value / scaleMax) * plotH;
          const x = left + i * slot + slot * 0.15;
          return (
            <g>
              <rect x={x} y={top + plotH - barH} width={Math.max(1, slot * 0.7)} height={barH} fill={BAR}>
                <title>{`${point.label}: ${shortNumber(point.value)}`}</title>
              </rect>
              {i % labelEvery === 0 ? (
                <text x={x + slot * 0.35} y={top + plotH + 16} text-anchor="middle" fill={INK}>
                  {point.label}
                </text>
              ) : null}
            </g>
          );
        })}
        <line x1={left} x2={WIDTH - right} y1={top + plotH} y2={top + plotH} stroke={INK} stroke-width="1" />
        <text x={left + plotW / 2} y={height - 8} text-anchor="middle" fill={INK} font-weight="600">
          {xLabel}
        </text>
        <text
          x={14}
          y={top + plotH / 2}
          text-anchor="middle"
          fill={INK}
          font-weight="600"
          transform={`rotate(-90 14 ${top + plotH / 2})`}
        >
          {yLabel}
        </text>
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** Horizontal bars, one row per item, the value written at the end of each bar. */
export function BarList(props: { id: string; title: string; valueLabel: string; points: Point[] }) {
  const { id, title, valueLabel, points } = props;
  const row = 26;
  const top = 8;
  const labelW = 150;
  const valueW = 48;
  const axis = 30;
  const height = top + Math.max(1, points.length) * row + axis;
  const plotW = WIDTH - labelW - valueW;
  const max = Math.max(0, ...points.map((p) => p.value)) || 1;
  const clip = (label: string) => (label.length > 22 ? `${label.slice(0, 21)}…` : label);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        width="100%"
        font-family="system-ui, sans-serif"
        font-size={FONT}
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>
          {points.map((p) => `${p.label}: ${shortNumber(p.value)} ${valueLabel}`).join("; ") || "No data"}
        </desc>
        {points.length === 0 ? (
          <text x={WIDTH / 2} y={top + row / 2 + 4} text-anchor="middle" fill={MUTED}>
            No data for this month
          </text>
        ) : null}
        {points.map((point, i) => {
          const yTop = top + i * row;
          const w = (point.value / max) * plotW;
          return (
            <g>
              <text x={labelW - 6} y={yTop + row / 2 + 4} text-anchor="end" fill={INK}>
                <title>{point.label}</title>
                {clip(point.label)}
              </text>
              <rect x={labelW} y={yTop + 4} width={Math.max(1, w)} height={row - 8} fill={BAR} />
              <text x={labelW + w + 4} y={yTop + row / 2 + 4} fill={INK}>
                {shortNumber(point.value)}
              </text>
            </g>
          );
        })}
        <line
          x1={labelW}
          x2={labelW + plotW}
          y1={height - axis + 4}
          y2={height - axis + 4}
          stroke={INK}
          stroke-width="1"
        />
        <text x={labelW + plotW / 2} y={height - 8} text-anchor="middle" fill={INK} font-weight="600">
          {valueLabel}
        </text>
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
