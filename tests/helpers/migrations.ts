// Reverting one migration when later ones exist: the newest go first, as a
// rollback to before it would take them.
import type { DataSource } from 'typeorm';

/** Undoes the newest migrations one by one until `name` (a migration's class name) is undone too. */
export async function undoMigrationsThrough(dataSource: DataSource, name: string): Promise<void> {
  const applied = async () =>
    ((await dataSource.query('SELECT name FROM migrations')) as { name: string }[]).map((row) => row.name);
  for (let names = await applied(); names.includes(name);) {
    await dataSource.undoLastMigration({ transaction: 'all' });
    const left = await applied();
    if (left.length === names.length) throw new Error(`could not undo the migrations down to ${name}`);
    names = left;
  }
}
