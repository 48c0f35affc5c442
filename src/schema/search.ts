// Query.searchMessages: full-text search over the messages of the caller's
// conversations (db/search.ts), newest first, keyset-paged by message id.
import { z } from 'zod';
import type { Message } from '../db/entities/index.js';
import { searchMessageIds } from '../db/search.js';
import { builder } from './builder.js';
import { requireMemberConversationId } from './conversation.js';
import { MessageRef } from './message.js';
import { decodeNumericCursor, encodeCursor, parsePageArgs, toConnection } from './pagination.js';
import { codePointLength } from '../codePoints.js';

/** Longer than any sensible search; bounds the work one query can ask of the index. */
export const SEARCH_QUERY_MAX = 256;

const searchQuery = z
  .string()
  .transform((text) => text.trim())
  .pipe(
    z.string().refine((text) => text.length > 0 && codePointLength(text) <= SEARCH_QUERY_MAX, {
      message: `query must be 1 to ${SEARCH_QUERY_MAX} characters.`,
    }),
  );

const SEARCH_CURSOR = 'search';
const searchCursor = (message: Message) => encodeCursor(SEARCH_CURSOR, message.id);

const SearchResultConnection = builder.connectionObject(
  { type: MessageRef, name: 'SearchResultConnection' },
  { name: 'SearchResultEdge' },
);

builder.queryFields((t) => ({
  searchMessages: t.field({
    type: SearchResultConnection,
    authScopes: { authenticated: true },
    description:
      'Full-text search over the messages the caller can see (conversations it is a\nmember of now), newest first; deleted messages never match, edited ones\nmatch their current body. All words of query must match (case-insensitive).',
    args: {
      query: t.arg.string({ required: true, validate: searchQuery }),
      conversationId: t.arg.id(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_root, args, context) => {
      const request = parsePageArgs({ first: args.first, after: args.after });
      const beforeId = request.after === null ? null : decodeNumericCursor(SEARCH_CURSOR, request.after, 'after');
      const conversationId =
        args.conversationId == null ? null : await requireMemberConversationId(context, String(args.conversationId));
      const ids = await searchMessageIds(context.dataSource, {
        userId: context.viewer!.id,
        query: args.query,
        conversationId,
        beforeId,
        limit: request.limit + 1,
      });
      const messages = (await context.loaders.message.loadMany(ids)).filter(
        (message): message is Message => message !== null && !(message instanceof Error),
      );
      return toConnection(messages, request, searchCursor, beforeId !== null);
    },
  }),
}));
