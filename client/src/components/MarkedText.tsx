// A message body with its mentions and search matches marked, as text.
import { Fragment } from 'react';
import { matchPieces, mentionPieces } from '../lib/textMarks.js';

type Props = { text: string; mentioned: readonly string[]; viewerUsername: string; words?: readonly string[] };

export function MarkedText({ text, mentioned, viewerUsername, words = [] }: Props) {
  const pieces = matchPieces(mentionPieces(text, mentioned, viewerUsername), words);
  return (
    <>
      {pieces.map((piece, index) => {
        const content = piece.match ? <mark className="search-match">{piece.text}</mark> : piece.text;
        if (!piece.mention) return <Fragment key={index}>{content}</Fragment>;
        return (
          <span
            key={index}
            className={piece.mention === 'me' ? 'mention mention-me' : 'mention'}
            data-mention={piece.mention}
          >
            {content}
          </span>
        );
      })}
    </>
  );
}
