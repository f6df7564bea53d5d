import type { ReactNode } from 'react';

/** A column: its header and what a row shows in it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
}

/** A data table with column headers (`scope="col"`), one row per item, and a line when there are none. */
export function Table<T>(props: {
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  selected?: string | null;
  empty?: string;
}) {
  return (
    <>
      <table>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.header} scope="col">
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows?.map((row) => {
            const key = props.rowKey(row);
            return (
              <tr key={key} className={key === props.selected ? 'selected' : undefined}>
                {props.columns.map((c) => (
                  <td key={c.header}>{c.cell(row)}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.empty && props.rows?.length === 0 && <p>{props.empty}</p>}
    </>
  );
}
