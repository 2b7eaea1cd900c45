/** Number and size formatting shared by the groups and the report. */

/** "1 GiB", "64 MiB", "1.5 GiB". */
export function sizeLabel(bytes: number): string {
  const gib = bytes / 2 ** 30;
  if (gib >= 1) return `${Number.isInteger(gib) ? gib : gib.toFixed(2)} GiB`;
  const mib = bytes / 2 ** 20;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(2)} MiB`;
}

export function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

/** "met" / "NOT met" / "n/a" for a goal line (information only: the benchmark never fails on it). */
export function goal(ok: boolean | null): string {
  return ok === null ? 'n/a' : ok ? 'met' : 'NOT met';
}
