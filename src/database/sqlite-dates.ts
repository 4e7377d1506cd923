/** TypeORM stores SQLite datetimes as UTC "YYYY-MM-DD HH:MM:SS.sss"; comparisons in SQL need the same form. */
export function toSqlite(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

export function fromSqlite(text: string): Date {
  return new Date(`${text.replace(' ', 'T')}Z`);
}
