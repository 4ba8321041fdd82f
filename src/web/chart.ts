// A line chart of the last minutes on a canvas: one or two series sampled
// as they come, the newest on the right, the scale following the largest
// value shown.

export class LineChart {
  private readonly series: { label: string; color: string; points: number[] }[];
  constructor(private readonly canvas: HTMLCanvasElement, labels: [string, string][], private readonly unit: string, private readonly keep = 180) {
    this.series = labels.map(([label, color]) => ({ label, color, points: [] }));
  }

  push(...values: number[]): void {
    values.forEach((v, i) => {
      const s = this.series[i];
      s.points.push(Number.isFinite(v) ? Math.max(0, v) : 0);
      if (s.points.length > this.keep) s.points.shift();
    });
    this.draw();
  }

  private draw(): void {
    const c = this.canvas.getContext("2d");
    if (!c) return;
    const w = this.canvas.width, h = this.canvas.height, top = 16, bottom = h - 4;
    c.clearRect(0, 0, w, h);
    const max = Math.max(1e-9, ...this.series.flatMap((s) => s.points));
    c.font = "11px sans-serif";
    c.fillStyle = "#555";
    c.fillText(`${fmt(max)} ${this.unit}`, 4, 11);
    let x0 = 90;
    for (const s of this.series) {
      c.fillStyle = s.color;
      c.fillText(s.label, x0, 11);
      x0 += c.measureText(s.label).width + 12;
      c.strokeStyle = s.color;
      c.beginPath();
      s.points.forEach((v, i) => {
        const x = w - (s.points.length - 1 - i) * (w / this.keep);
        const y = bottom - (v / max) * (bottom - top);
        if (i === 0) c.moveTo(x, y); else c.lineTo(x, y);
      });
      c.stroke();
    }
  }
}

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}
