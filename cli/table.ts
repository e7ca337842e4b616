/**
 * Plain aligned tables for a terminal: one header row, columns separated by two spaces,
 * numbers aligned right.
 *
 * @module
 */

/** A column: its header and whether its cells align right. */
export interface Column {
  /** The header. */
  title: string;
  /** Align the cells right (numbers). */
  right?: boolean;
}

/**
 * Formats rows as an aligned table.
 *
 * @param columns The columns.
 * @param rows One array of cells per row, as many as columns.
 * @returns The table, one line per row with a trailing newline, the header first.
 */
export function table(columns: readonly Column[], rows: readonly string[][]): string {
  const width = (text: string) => [...text].length;
  const widths = columns.map((c, i) => Math.max(width(c.title), ...rows.map((r) => width(r[i]!))));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => {
      const pad = " ".repeat(widths[i]! - width(cell));
      if (i === cells.length - 1 && !columns[i]!.right) return cell; // no trailing blanks
      return columns[i]!.right ? pad + cell : cell + pad;
    }).join("  ");
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join("\n") + "\n";
}
