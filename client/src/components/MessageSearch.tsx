// The search box over every conversation's messages: results newest first,
// the matched words marked; choosing one opens its conversation at it.
import { type FormEvent, useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '../gql/index.js';
import type { SearchMessagesQuery } from '../gql/graphql.js';
import { conversationTitle } from '../lib/conversations.js';
import { describeError } from '../lib/errors.js';
import { searchWords } from '../lib/textMarks.js';
import { useSession } from '../session.js';
import { formatShort } from './bits.js';
import { MarkedText } from './MarkedText.js';

const SearchMessagesQuery = graphql(`
  query SearchMessages($query: String!, $first: Int!, $after: String) {
    searchMessages(query: $query, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          body
          createdAt
          conversation {
            id
          }
          sender {
            id
            displayName
          }
          mentions {
            id
            username
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const PAGE_SIZE = 20;

type Result = SearchMessagesQuery['searchMessages']['edges'][number]['node'];

export function MessageSearch({
  onOpen,
}: {
  onOpen(conversationId: string, messageId: string, words: string[]): void;
}) {
  const client = useClient();
  const { state, viewer } = useSession();
  const [text, setText] = useState('');
  const [searched, setSearched] = useState<string | null>(null);
  const [results, setResults] = useState<Result[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (query: string, after: string | null) => {
    setBusy(true);
    const result = await client.query(SearchMessagesQuery, { query, first: PAGE_SIZE, after }).toPromise();
    setBusy(false);
    if (!result.data) {
      setError(result.error ? describeError(result.error) : 'Something went wrong. Try again.');
      return;
    }
    const page = result.data.searchMessages;
    setError(null);
    setSearched(query);
    setResults((previous) => [...(after ? previous : []), ...page.edges.map((edge) => edge.node)]);
    setNext(page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null);
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const query = text.trim();
    if (query) void run(query, null);
  };

  const clear = () => {
    setText('');
    setSearched(null);
    setResults([]);
    setNext(null);
    setError(null);
  };

  const words = searched ? searchWords(searched) : [];
  return (
    <div className="message-search">
      <form role="search" onSubmit={onSubmit}>
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          value={text}
          maxLength={256}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => event.key === 'Escape' && clear()}
        />
      </form>
      {error && (
        <p className="search-error" role="alert">
          {error}
        </p>
      )}
      {searched !== null && (
        <div className="search-results">
          <p className="search-summary" role="status">
            {results.length === 0 ? `No messages match “${searched}”.` : `Messages matching “${searched}”`}
            <button type="button" className="link-button" onClick={clear}>
              Close
            </button>
          </p>
          <ul aria-label="Search results">
            {results.map((message) => {
              const conversation = state.conversations[message.conversation.id];
              return (
                <li key={message.id}>
                  <button
                    type="button"
                    className="search-result"
                    onClick={() => onOpen(message.conversation.id, message.id, words)}
                  >
                    <span className="search-result-top">
                      <span className="search-result-where">
                        {conversation ? conversationTitle(conversation, viewer.id) : message.sender.displayName}
                      </span>
                      <time dateTime={message.createdAt}>{formatShort(message.createdAt)}</time>
                    </span>
                    <span className="search-result-body">
                      {message.sender.displayName}:{' '}
                      <MarkedText
                        text={message.body ?? ''}
                        mentioned={message.mentions.map((user) => user.username)}
                        viewerUsername={viewer.username}
                        words={words}
                      />
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
          {next && (
            <button
              type="button"
              className="button ghost small"
              disabled={busy}
              onClick={() => void run(searched, next)}
            >
              More results
            </button>
          )}
        </div>
      )}
    </div>
  );
}
