import type uPlot from 'uplot';

export interface Marker {
  /** Seconds (uPlot's x unit). */
  at: number;
  label: string;
  colour: string;
  /** Label row from the top, so two sets of markers do not print over each other. */
  row?: number;
}

export interface Region {
  from: number;
  to: number;
  label: string;
  colour: string;
}

/**
 * A uPlot draw hook for vertical markers (tickets, alerts a rule would raise) and shaded regions
 * (alerts that are firing). Both are clamped to the plot, so an alert that began before the shown
 * range still shades it from the left edge: a firing alert is never off the chart.
 */
export function annotate(markers: readonly Marker[], regions: readonly Region[] = []): (u: uPlot) => void {
  return (u) => {
    const ctx = u.ctx;
    const left = u.bbox.left;
    const right = u.bbox.left + u.bbox.width;
    const clamp = (px: number) => Math.min(right, Math.max(left, px));
    ctx.save();
    ctx.font = `${12 * devicePixelRatio}px system-ui`;
    for (const r of regions) {
      const a = clamp(u.valToPos(r.from, 'x', true));
      const b = clamp(u.valToPos(r.to, 'x', true));
      ctx.fillStyle = r.colour;
      ctx.globalAlpha = 0.12;
      ctx.fillRect(a, u.bbox.top, Math.max(2, b - a), u.bbox.height);
      ctx.globalAlpha = 1;
      ctx.fillText(r.label, a + 4, u.bbox.top + u.bbox.height - 6);
    }
    for (const m of markers) {
      const px = u.valToPos(m.at, 'x', true);
      if (px < left || px > right) continue;
      ctx.strokeStyle = m.colour;
      ctx.fillStyle = m.colour;
      ctx.beginPath();
      ctx.moveTo(px, u.bbox.top);
      ctx.lineTo(px, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(m.label, px + 3, u.bbox.top + 14 * devicePixelRatio * ((m.row ?? 0) + 1));
    }
    ctx.restore();
  };
}

/** Chart width for the page's content box. */
export function chartWidth(root: HTMLElement): number {
  return Math.max(280, Math.min(1300, root.clientWidth - 40));
}
