// Which users have blocked anyone, per instance: a user absent from it can be
// shown online without asking whether they blocked the viewer, so a shared
// subscription execution (sharedExecution.ts) stays shared for everyone else.
// Kept current from the `blocks` topic; only ever grows until restart, which
// errs towards asking.
import type { DataSource } from 'typeorm';
import { Block } from '../db/entities/index.js';
import type { Broadcast } from './broadcast.js';

export class Blockers {
  private readonly ids = new Set<number>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly blocks: Broadcast<'blocks'>,
  ) {}

  async start(): Promise<void> {
    this.blocks.listen(({ blockerId, blocked }) => {
      if (blocked) this.ids.add(blockerId);
    });
    const rows: { blockerId: number | string }[] = await this.dataSource.manager
      .createQueryBuilder(Block, 'block')
      .select('DISTINCT block.blockerId', 'blockerId')
      .getRawMany();
    for (const row of rows) this.ids.add(Number(row.blockerId));
  }

  /** False when the user has certainly blocked nobody. */
  mayHaveBlocked(userId: number): boolean {
    return this.ids.has(userId);
  }

  /** Called by the instance that stores a block, before announcing it. */
  add(userId: number): void {
    this.ids.add(userId);
  }
}
