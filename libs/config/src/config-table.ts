import { CONFIG_KEYS } from './config.schema.js';

/**
 * The configuration table of `docs/configuration.md`, rendered from {@link CONFIG_KEYS}: one row
 * per variable with its default and its doc line. `npm run docs:config` writes it into the page;
 * a unit test fails when the page differs from it.
 */
export function configTableRows(): { name: string; default: string; doc: string }[] {
  return Object.entries(CONFIG_KEYS).map(([name, key]) => ({
    name,
    default: key.default === undefined || key.default === '' ? 'unset' : `\`${key.default}\``,
    doc: key.doc,
  }));
}

/** The table as Markdown, columns padded as Prettier formats them. */
export function renderConfigTable(): string {
  const rows = configTableRows().map((r) => [`\`${r.name}\``, r.default, r.doc.replaceAll('|', '\\|')]);
  const header = ['variable', 'default', 'meaning'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** Replaces the table in a configuration page (the lines from its header to the first non-table line). */
export function replaceConfigTable(page: string): string {
  const lines = page.split('\n');
  const start = lines.findIndex((l) => /^\|\s*variable\s*\|/.test(l));
  if (start < 0) throw new Error('no configuration table (a line starting "| variable |")');
  let end = start;
  while (end < lines.length && lines[end]?.startsWith('|')) end++;
  return [...lines.slice(0, start), renderConfigTable(), ...lines.slice(end)].join('\n');
}
