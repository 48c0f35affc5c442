// Full-text search over the messages of the conversations a user belongs to
// now, on each engine's native index (created by migration 1796200000000):
// InnoDB FULLTEXT on MySQL/MariaDB, FTS5 on SQLite. Newest first, keyset-paged
// by message id.
//
// The user's words are never handed to either engine's query syntax as typed:
// they are cut into words here (runs of letters, digits, marks and `_`), and
// each word goes to the engine quoted, so operators, quotes and `*` in a query
// are separators, searched as text would be, never syntax.
import type { DataSource } from 'typeorm';
import { codePointLength } from '../codePoints.js';

export type SearchRequest = {
  userId: number;
  query: string;
  /** Only this conversation (the caller checked membership); null for all the user's conversations. */
  conversationId: number | null;
  /** Keyset: only messages older than this id. */
  beforeId: number | null;
  limit: number;
};

/**
 * The words of a query, lower-case and NFC, without duplicates: every one of
 * them must match. A run of `_` alone is no word (FTS5 does not index it).
 */
export function searchWords(query: string): string[] {
  const words =
    query
      .normalize('NFC')
      .toLowerCase()
      .match(/[\p{L}\p{N}\p{M}_]+/gu) ?? [];
  return [...new Set(words.filter((word) => /[\p{L}\p{N}]/u.test(word)))];
}

/** Ids of matching messages the user can see now, newest first. */
export async function searchMessageIds(dataSource: DataSource, request: SearchRequest): Promise<number[]> {
  const words = searchWords(request.query);
  if (words.length === 0) return [];
  const rows =
    dataSource.options.type === 'mysql'
      ? await searchMysql(dataSource, request, words)
      : await searchSqlite(dataSource, request, words);
  return rows.map((row) => Number(row.id));
}

type IdRow = { id: number | string };

/** SQLite: above this many conversations the match names none of them (the OR would cost more than it saves). */
const MAX_SCOPE_TOKENS = 200;

/**
 * The conversations to search: the one asked for, or the user's (at most
 * `limit`). Only a hint to the index: the join on memberships decides what the
 * user may see.
 */
async function searchScope(dataSource: DataSource, request: SearchRequest, limit?: number): Promise<number[]> {
  if (request.conversationId !== null) return [request.conversationId];
  const rows: { conversationId: number | string }[] = await dataSource.query(
    `SELECT conversationId FROM memberships WHERE userId = ?${limit === undefined ? '' : ' LIMIT ?'}`,
    limit === undefined ? [request.userId] : [request.userId, limit],
  );
  return rows.map((row) => Number(row.conversationId));
}

/**
 * FTS5: every word a quoted string (a phrase: FTS5's own tokenizer splits
 * "foo_bar" as it split the body), all ANDed, in the body column; ANDed with
 * the user's conversations, indexed as tokens of the conversationId column,
 * so FTS5 skips along the short lists of those conversations instead of
 * walking every hit of a common word. Read newest first (ORDER BY rowid DESC);
 * the join on memberships stays the authoritative check of who may see what.
 */
async function searchSqlite(dataSource: DataSource, request: SearchRequest, words: string[]): Promise<IdRow[]> {
  // At most MAX_SCOPE_TOKENS + 1: past that the match does not name them.
  const scope = await searchScope(dataSource, request, MAX_SCOPE_TOKENS + 1);
  if (scope.length === 0) return [];
  const body = `body : (${words.map((word) => `"${word.replaceAll('"', '""')}"`).join(' AND ')})`;
  const match =
    scope.length > MAX_SCOPE_TOKENS
      ? body
      : `${body} AND conversationId : (${scope.map((id: number) => `"${id}"`).join(' OR ')})`;
  if (scope.length <= MAX_SCOPE_TOKENS) {
    // The match holds the scope, so its newest hits are the page: FTS5 stops after `limit` of them
    // (a LIMIT it sees is 10-50 times faster than one behind a join). The join still checks each.
    const bound = request.beforeId === null ? '' : 'AND rowid < ?';
    return dataSource.query(
      `SELECT message.id AS id FROM (
         SELECT rowid AS id FROM messages_fts WHERE messages_fts MATCH ? ${bound} ORDER BY rowid DESC LIMIT ?
       ) hit INNER JOIN messages message ON message.id = hit.id
       WHERE message.deletedAt IS NULL
         AND message.conversationId IN (SELECT conversationId FROM memberships WHERE userId = ?)
       ORDER BY message.id DESC`,
      [match, ...(request.beforeId === null ? [] : [request.beforeId]), request.limit, request.userId],
    );
  }
  return dataSource.query(
    `SELECT message.id AS id FROM messages_fts INNER JOIN messages message ON message.id = messages_fts.rowid
     WHERE messages_fts MATCH ? AND message.deletedAt IS NULL
       AND message.conversationId IN (SELECT conversationId FROM memberships WHERE userId = ?)
       ${request.beforeId === null ? '' : 'AND messages_fts.rowid < ?'}
     ORDER BY messages_fts.rowid DESC LIMIT ?`,
    [match, request.userId, ...(request.beforeId === null ? [] : [request.beforeId]), request.limit],
  );
}

/** A word as a word of its conversation, as messages.searchTerms holds it (migration 1796800000000). */
export function conversationTerm(conversationId: number, word: string): string {
  return `c${conversationId}x${word}`;
}

/** innodb_ft_max_token_size, read once per data source (it is read-only). */
const maxTokenSizes = new WeakMap<DataSource, Promise<number>>();

function innodbMaxTokenSize(dataSource: DataSource): Promise<number> {
  let size = maxTokenSizes.get(dataSource);
  if (!size) {
    size = dataSource
      .query('SELECT @@innodb_ft_max_token_size AS max')
      .then(([row]: { max: number | string }[]) => Number(row!.max));
    size.catch(() => maxTokenSizes.delete(dataSource));
    maxTokenSizes.set(dataSource, size);
  }
  return size;
}

/** Conversations named in one InnoDB match; a user in more is searched in several, merged. */
const CONVERSATIONS_PER_MATCH = 100;

/**
 * InnoDB FULLTEXT in boolean mode over searchTerms, where every word is a word
 * of its conversation (`c42xword`, migration 1796800000000): each word of the
 * query becomes `+(c1xword c2xword …)` over the searcher's conversations, so
 * InnoDB reads only their entries of each word's posting list, not every
 * message holding it. Words are unquoted (a quoted phrase makes InnoDB re-read
 * every candidate's text) and hold no operator characters. A word too long for
 * the index once prefixed (innodb_ft_max_token_size) is checked instead on the
 * rows the other words found, by a whole-word REGEXP that the column's
 * case-insensitive collation applies case-insensitively.
 */
async function searchMysql(dataSource: DataSource, request: SearchRequest, words: string[]): Promise<IdRow[]> {
  const [max, scope] = await Promise.all([innodbMaxTokenSize(dataSource), searchScope(dataSource, request)]);
  const pages: IdRow[][] = [];
  for (let start = 0; start < scope.length; start += CONVERSATIONS_PER_MATCH) {
    const conversations = scope.slice(start, start + CONVERSATIONS_PER_MATCH);
    pages.push(await searchMysqlConversations(dataSource, request, words, conversations, max));
  }
  // Each page is newest first within its conversations; the newest `limit` of all of them.
  return pages
    .flat()
    .sort((a, b) => Number(b.id) - Number(a.id))
    .slice(0, request.limit);
}

async function searchMysqlConversations(
  dataSource: DataSource,
  request: SearchRequest,
  words: string[],
  conversations: number[],
  maxTokenSize: number,
): Promise<IdRow[]> {
  const longest = Math.max(...conversations.map((id) => conversationTerm(id, '').length));
  const indexed = words.filter((word) => longest + codePointLength(word) <= maxTokenSize);
  const checked = words.filter((word) => !indexed.includes(word));
  const conditions = [
    'message.deletedAt IS NULL',
    'message.body IS NOT NULL',
    `message.conversationId IN (${conversations.map(() => '?').join(', ')})`,
  ];
  const parameters: unknown[] = [request.userId, ...conversations];
  if (indexed.length > 0) {
    conditions.push('MATCH (message.searchTerms) AGAINST (? IN BOOLEAN MODE)');
    parameters.push(
      indexed.map((word) => `+(${conversations.map((id) => conversationTerm(id, word)).join(' ')})`).join(' '),
    );
  }
  for (const word of checked) {
    // Words hold only letters, digits, marks and `_`: nothing a regular expression would read as syntax.
    conditions.push('message.body REGEXP ?');
    parameters.push(`(?<![\\p{L}\\p{N}\\p{M}_])${word}(?![\\p{L}\\p{N}\\p{M}_])`);
  }
  if (request.beforeId !== null) {
    conditions.push('message.id < ?');
    parameters.push(request.beforeId);
  }
  return dataSource.query(
    `SELECT message.id AS id FROM messages message
     INNER JOIN memberships membership ON membership.conversationId = message.conversationId AND membership.userId = ?
     WHERE ${conditions.join(' AND ')} ORDER BY message.id DESC LIMIT ?`,
    [...parameters, request.limit],
  );
}
