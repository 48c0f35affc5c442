import type { DataSource } from 'typeorm';
import { User } from './entities/index.js';
import { isUniqueViolation, writeAlone } from './transaction.js';

/** Inserts a user; null when the username is taken. */
export async function insertUser(
  dataSource: DataSource,
  fields: { username: string; displayName: string; passwordHash: string },
): Promise<User | null> {
  const user = dataSource.manager.create(User, {
    ...fields,
    displayNameLower: fields.displayName.toLowerCase(),
    createdAt: new Date(),
    lastSeenAt: null,
  });
  try {
    await writeAlone(dataSource, (manager) => manager.insert(User, user));
    return user;
  } catch (error) {
    if (isUniqueViolation(error)) return null;
    throw error;
  }
}

export function findUserByUsername(dataSource: DataSource, username: string): Promise<User | null> {
  return dataSource.manager.findOneBy(User, { username });
}

/**
 * Escapes LIKE wildcards so a search for "50%" matches the text "50%". The
 * escape character is "!" because a backslash literal is read differently by
 * MySQL and SQLite.
 */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** Users whose username or display name contains `search`, by id, after the keyset `afterId`. */
export function searchUsers(
  dataSource: DataSource,
  { search, afterId, limit }: { search: string | null; afterId: number | null; limit: number },
): Promise<User[]> {
  const query = dataSource.manager.createQueryBuilder(User, 'user').orderBy('user.id', 'ASC').limit(limit);
  if (afterId !== null) query.andWhere('user.id > :afterId', { afterId });
  if (search) {
    query.andWhere("(user.username LIKE :pattern ESCAPE '!' OR user.displayNameLower LIKE :pattern ESCAPE '!')", {
      pattern: likePattern(search),
    });
  }
  return query.getMany();
}
