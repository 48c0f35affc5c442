// The shapes the whole client keeps in its state; operations spread them.
import { graphql } from './gql/index.js';

export const UserFields = graphql(`
  fragment UserFields on User {
    id
    username
    displayName
    isBot
    online
    lastSeenAt
  }
`);

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    body
    clientMessageId
    createdAt
    editedAt
    deletedAt
    generation
    conversation {
      id
    }
    sender {
      id
      username
      displayName
      isBot
    }
    reactions {
      emoji
      count
      reactedByMe
    }
    replyTo {
      id
      body
      deletedAt
      sender {
        id
        displayName
      }
    }
    mentions {
      id
      username
    }
    attachments {
      id
      kind
      filename
      contentType
      byteSize
      width
      height
      url
      thumbnailUrl
    }
  }
`);

export const ConversationFields = graphql(`
  fragment ConversationFields on Conversation {
    id
    kind
    title
    createdAt
    unreadCount
    myRole
    unreadMentionCount
    members {
      ...UserFields
    }
    memberships {
      role
      joinedAt
      lastReadMessageId
      user {
        id
      }
    }
    lastMessage {
      ...MessageFields
    }
  }
`);
