/**
 * Number and text formatting for the report's files. Every number goes through a fixed-decimal
 * format, so the same figures always give the same bytes.
 */

/** Three significant figures or so, with decimals fixed by magnitude (never exponent notation). */
export function fmt(v: number): string {
  const a = Math.abs(v);
  const decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return v.toFixed(decimals);
}

export const fmtRatio = (r: number): string => r.toFixed(2);

/** Signed percentage difference of a over b, e.g. "+5.1 %". */
export function fmtPercentOver(a: number, b: number): string {
  const p = (a / b - 1) * 100;
  return `${p >= 0 ? '+' : '−'}${Math.abs(p).toFixed(1)} %`;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One RFC 4180 field: quoted when it holds a comma, a double quote, CR or LF; quotes doubled. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Markdown table cell text: pipes escaped. */
export const mdCell = (s: string): string => s.replace(/\|/g, '\\|');
