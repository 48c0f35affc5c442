/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment BotCredentialsFields on BotCredentials {\n    token\n    webhookSecret\n    bot {\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": typeof types.BotCredentialsFieldsFragmentDoc,
    "\n  query MyBots {\n    myBots {\n      webhookUrl\n      createdAt\n      lastUsedAt\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": typeof types.MyBotsDocument,
    "\n  mutation CreateBot($input: CreateBotInput!) {\n    createBot(input: $input) {\n      ...BotCredentialsFields\n    }\n  }\n": typeof types.CreateBotDocument,
    "\n  mutation RotateBotToken($botId: ID!) {\n    rotateBotToken(botId: $botId) {\n      ...BotCredentialsFields\n    }\n  }\n": typeof types.RotateBotTokenDocument,
    "\n  mutation DeleteBot($botId: ID!) {\n    deleteBot(botId: $botId)\n  }\n": typeof types.DeleteBotDocument,
    "\n  query Me {\n    me {\n      ...UserFields\n    }\n  }\n": typeof types.MeDocument,
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  mutation LogIn($input: LogInInput!) {\n    logIn(input: $input) {\n      token\n    }\n  }\n": typeof types.LogInDocument,
    "\n  query SearchMessages($query: String!, $first: Int!, $after: String) {\n    searchMessages(query: $query, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          body\n          createdAt\n          conversation {\n            id\n          }\n          sender {\n            id\n            displayName\n          }\n          mentions {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.SearchMessagesDocument,
    "\n  query ConversationMuted($id: ID!) {\n    conversation(id: $id) {\n      id\n      muted\n    }\n  }\n": typeof types.ConversationMutedDocument,
    "\n  mutation SetConversationMuted($id: ID!, $muted: Boolean!) {\n    setConversationMuted(conversationId: $id, muted: $muted) {\n      id\n      muted\n    }\n  }\n": typeof types.SetConversationMutedDocument,
    "\n  fragment UserFields on User {\n    id\n    username\n    displayName\n    isBot\n    online\n    lastSeenAt\n  }\n": typeof types.UserFieldsFragmentDoc,
    "\n  fragment MessageFields on Message {\n    id\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    generation\n    conversation {\n      id\n    }\n    sender {\n      id\n      username\n      displayName\n      isBot\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    replyTo {\n      id\n      body\n      deletedAt\n      sender {\n        id\n        displayName\n      }\n    }\n    mentions {\n      id\n      username\n    }\n    attachments {\n      id\n      kind\n      filename\n      contentType\n      byteSize\n      width\n      height\n      url\n      thumbnailUrl\n    }\n  }\n": typeof types.MessageFieldsFragmentDoc,
    "\n  fragment ConversationFields on Conversation {\n    id\n    kind\n    title\n    createdAt\n    unreadCount\n    myRole\n    unreadMentionCount\n    members {\n      ...UserFields\n    }\n    memberships {\n      role\n      joinedAt\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n    lastMessage {\n      ...MessageFields\n    }\n  }\n": typeof types.ConversationFieldsFragmentDoc,
    "\n  query PushConfig {\n    pushConfig {\n      vapidPublicKey\n    }\n  }\n": typeof types.PushConfigDocument,
    "\n  mutation RegisterPushSubscription($input: PushSubscriptionInput!) {\n    registerPushSubscription(input: $input)\n  }\n": typeof types.RegisterPushSubscriptionDocument,
    "\n  mutation UnregisterPushSubscription($endpoint: String!) {\n    unregisterPushSubscription(endpoint: $endpoint)\n  }\n": typeof types.UnregisterPushSubscriptionDocument,
    "\n  mutation UpdateProfile($displayName: String!) {\n    updateProfile(displayName: $displayName) {\n      ...UserFields\n    }\n  }\n": typeof types.UpdateProfileDocument,
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      token\n    }\n  }\n": typeof types.ChangePasswordDocument,
    "\n  mutation LogOut {\n    logOut\n  }\n": typeof types.LogOutDocument,
    "\n  mutation LogOutEverywhere {\n    logOutEverywhere\n  }\n": typeof types.LogOutEverywhereDocument,
    "\n  query Conversations($first: Int!) {\n    conversations(first: $first) {\n      eventCursor\n      edges {\n        node {\n          ...ConversationFields\n        }\n      }\n    }\n  }\n": typeof types.ConversationsDocument,
    "\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n": typeof types.ConversationDocument,
    "\n  subscription MessageEvents($after: String) {\n    messageEvents(after: $after) {\n      kind\n      cursor\n      message {\n        ...MessageFields\n      }\n    }\n  }\n": typeof types.MessageEventsDocument,
    "\n  subscription ConversationEvents {\n    conversationEvents {\n      kind\n      conversationId\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": typeof types.ConversationEventsDocument,
    "\n  mutation OpenDirectConversation($userId: ID!) {\n    openDirectConversation(userId: $userId) {\n      ...ConversationFields\n    }\n  }\n": typeof types.OpenDirectConversationDocument,
    "\n  mutation CreateGroupConversation($input: CreateGroupInput!) {\n    createGroupConversation(input: $input) {\n      ...ConversationFields\n    }\n  }\n": typeof types.CreateGroupConversationDocument,
    "\n  query SearchUsers($search: String!) {\n    users(search: $search, first: 20) {\n      edges {\n        node {\n          ...UserFields\n        }\n      }\n    }\n  }\n": typeof types.SearchUsersDocument,
    "\n  mutation RenameConversation($conversationId: ID!, $title: String!) {\n    renameConversation(conversationId: $conversationId, title: $title) {\n      ...ConversationFields\n    }\n  }\n": typeof types.RenameConversationDocument,
    "\n  mutation AddMembers($conversationId: ID!, $userIds: [ID!]!) {\n    addMembers(conversationId: $conversationId, userIds: $userIds) {\n      ...ConversationFields\n    }\n  }\n": typeof types.AddMembersDocument,
    "\n  mutation RemoveMember($conversationId: ID!, $userId: ID!) {\n    removeMember(conversationId: $conversationId, userId: $userId) {\n      ...ConversationFields\n    }\n  }\n": typeof types.RemoveMemberDocument,
    "\n  mutation SetMemberRole($conversationId: ID!, $userId: ID!, $role: MemberRole!) {\n    setMemberRole(conversationId: $conversationId, userId: $userId, role: $role) {\n      ...ConversationFields\n    }\n  }\n": typeof types.SetMemberRoleDocument,
    "\n  mutation LeaveConversation($conversationId: ID!) {\n    leaveConversation(conversationId: $conversationId)\n  }\n": typeof types.LeaveConversationDocument,
    "\n  mutation BlockUser($userId: ID!) {\n    blockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n": typeof types.BlockUserDocument,
    "\n  mutation UnblockUser($userId: ID!) {\n    unblockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n": typeof types.UnblockUserDocument,
    "\n  query Blocked($userId: ID!) {\n    user(id: $userId) {\n      id\n      blockedByMe\n    }\n  }\n": typeof types.BlockedDocument,
    "\n  subscription Presence {\n    presence {\n      online\n      user {\n        id\n      }\n    }\n  }\n": typeof types.PresenceDocument,
    "\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n": typeof types.SetTypingDocument,
    "\n  subscription Typing($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      user {\n        id\n        displayName\n      }\n    }\n  }\n": typeof types.TypingDocument,
    "\n  subscription ReadMarkers($conversationId: ID!) {\n    readMarkers(conversationId: $conversationId) {\n      conversationId\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n": typeof types.ReadMarkersDocument,
    "\n  mutation RefreshToken {\n    refreshToken {\n      token\n    }\n  }\n": typeof types.RefreshTokenDocument,
    "\n  query Messages($conversationId: ID!, $last: Int!, $before: String) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        node {\n          ...MessageFields\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": typeof types.MessagesDocument,
    "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation EditMessage($input: EditMessageInput!) {\n    editMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n": typeof types.EditMessageDocument,
    "\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n": typeof types.DeleteMessageDocument,
    "\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n": typeof types.StopGenerationDocument,
    "\n  mutation AddReaction($messageId: ID!, $emoji: String!) {\n    addReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n": typeof types.AddReactionDocument,
    "\n  mutation RemoveReaction($messageId: ID!, $emoji: String!) {\n    removeReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n": typeof types.RemoveReactionDocument,
    "\n  mutation MarkRead($conversationId: ID!, $messageId: ID!) {\n    markRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n      unreadCount\n      unreadMentionCount\n    }\n  }\n": typeof types.MarkReadDocument,
};
const documents: Documents = {
    "\n  fragment BotCredentialsFields on BotCredentials {\n    token\n    webhookSecret\n    bot {\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": types.BotCredentialsFieldsFragmentDoc,
    "\n  query MyBots {\n    myBots {\n      webhookUrl\n      createdAt\n      lastUsedAt\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n": types.MyBotsDocument,
    "\n  mutation CreateBot($input: CreateBotInput!) {\n    createBot(input: $input) {\n      ...BotCredentialsFields\n    }\n  }\n": types.CreateBotDocument,
    "\n  mutation RotateBotToken($botId: ID!) {\n    rotateBotToken(botId: $botId) {\n      ...BotCredentialsFields\n    }\n  }\n": types.RotateBotTokenDocument,
    "\n  mutation DeleteBot($botId: ID!) {\n    deleteBot(botId: $botId)\n  }\n": types.DeleteBotDocument,
    "\n  query Me {\n    me {\n      ...UserFields\n    }\n  }\n": types.MeDocument,
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n    }\n  }\n": types.SignUpDocument,
    "\n  mutation LogIn($input: LogInInput!) {\n    logIn(input: $input) {\n      token\n    }\n  }\n": types.LogInDocument,
    "\n  query SearchMessages($query: String!, $first: Int!, $after: String) {\n    searchMessages(query: $query, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          body\n          createdAt\n          conversation {\n            id\n          }\n          sender {\n            id\n            displayName\n          }\n          mentions {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.SearchMessagesDocument,
    "\n  query ConversationMuted($id: ID!) {\n    conversation(id: $id) {\n      id\n      muted\n    }\n  }\n": types.ConversationMutedDocument,
    "\n  mutation SetConversationMuted($id: ID!, $muted: Boolean!) {\n    setConversationMuted(conversationId: $id, muted: $muted) {\n      id\n      muted\n    }\n  }\n": types.SetConversationMutedDocument,
    "\n  fragment UserFields on User {\n    id\n    username\n    displayName\n    isBot\n    online\n    lastSeenAt\n  }\n": types.UserFieldsFragmentDoc,
    "\n  fragment MessageFields on Message {\n    id\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    generation\n    conversation {\n      id\n    }\n    sender {\n      id\n      username\n      displayName\n      isBot\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    replyTo {\n      id\n      body\n      deletedAt\n      sender {\n        id\n        displayName\n      }\n    }\n    mentions {\n      id\n      username\n    }\n    attachments {\n      id\n      kind\n      filename\n      contentType\n      byteSize\n      width\n      height\n      url\n      thumbnailUrl\n    }\n  }\n": types.MessageFieldsFragmentDoc,
    "\n  fragment ConversationFields on Conversation {\n    id\n    kind\n    title\n    createdAt\n    unreadCount\n    myRole\n    unreadMentionCount\n    members {\n      ...UserFields\n    }\n    memberships {\n      role\n      joinedAt\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n    lastMessage {\n      ...MessageFields\n    }\n  }\n": types.ConversationFieldsFragmentDoc,
    "\n  query PushConfig {\n    pushConfig {\n      vapidPublicKey\n    }\n  }\n": types.PushConfigDocument,
    "\n  mutation RegisterPushSubscription($input: PushSubscriptionInput!) {\n    registerPushSubscription(input: $input)\n  }\n": types.RegisterPushSubscriptionDocument,
    "\n  mutation UnregisterPushSubscription($endpoint: String!) {\n    unregisterPushSubscription(endpoint: $endpoint)\n  }\n": types.UnregisterPushSubscriptionDocument,
    "\n  mutation UpdateProfile($displayName: String!) {\n    updateProfile(displayName: $displayName) {\n      ...UserFields\n    }\n  }\n": types.UpdateProfileDocument,
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      token\n    }\n  }\n": types.ChangePasswordDocument,
    "\n  mutation LogOut {\n    logOut\n  }\n": types.LogOutDocument,
    "\n  mutation LogOutEverywhere {\n    logOutEverywhere\n  }\n": types.LogOutEverywhereDocument,
    "\n  query Conversations($first: Int!) {\n    conversations(first: $first) {\n      eventCursor\n      edges {\n        node {\n          ...ConversationFields\n        }\n      }\n    }\n  }\n": types.ConversationsDocument,
    "\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n": types.ConversationDocument,
    "\n  subscription MessageEvents($after: String) {\n    messageEvents(after: $after) {\n      kind\n      cursor\n      message {\n        ...MessageFields\n      }\n    }\n  }\n": types.MessageEventsDocument,
    "\n  subscription ConversationEvents {\n    conversationEvents {\n      kind\n      conversationId\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": types.ConversationEventsDocument,
    "\n  mutation OpenDirectConversation($userId: ID!) {\n    openDirectConversation(userId: $userId) {\n      ...ConversationFields\n    }\n  }\n": types.OpenDirectConversationDocument,
    "\n  mutation CreateGroupConversation($input: CreateGroupInput!) {\n    createGroupConversation(input: $input) {\n      ...ConversationFields\n    }\n  }\n": types.CreateGroupConversationDocument,
    "\n  query SearchUsers($search: String!) {\n    users(search: $search, first: 20) {\n      edges {\n        node {\n          ...UserFields\n        }\n      }\n    }\n  }\n": types.SearchUsersDocument,
    "\n  mutation RenameConversation($conversationId: ID!, $title: String!) {\n    renameConversation(conversationId: $conversationId, title: $title) {\n      ...ConversationFields\n    }\n  }\n": types.RenameConversationDocument,
    "\n  mutation AddMembers($conversationId: ID!, $userIds: [ID!]!) {\n    addMembers(conversationId: $conversationId, userIds: $userIds) {\n      ...ConversationFields\n    }\n  }\n": types.AddMembersDocument,
    "\n  mutation RemoveMember($conversationId: ID!, $userId: ID!) {\n    removeMember(conversationId: $conversationId, userId: $userId) {\n      ...ConversationFields\n    }\n  }\n": types.RemoveMemberDocument,
    "\n  mutation SetMemberRole($conversationId: ID!, $userId: ID!, $role: MemberRole!) {\n    setMemberRole(conversationId: $conversationId, userId: $userId, role: $role) {\n      ...ConversationFields\n    }\n  }\n": types.SetMemberRoleDocument,
    "\n  mutation LeaveConversation($conversationId: ID!) {\n    leaveConversation(conversationId: $conversationId)\n  }\n": types.LeaveConversationDocument,
    "\n  mutation BlockUser($userId: ID!) {\n    blockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n": types.BlockUserDocument,
    "\n  mutation UnblockUser($userId: ID!) {\n    unblockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n": types.UnblockUserDocument,
    "\n  query Blocked($userId: ID!) {\n    user(id: $userId) {\n      id\n      blockedByMe\n    }\n  }\n": types.BlockedDocument,
    "\n  subscription Presence {\n    presence {\n      online\n      user {\n        id\n      }\n    }\n  }\n": types.PresenceDocument,
    "\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n": types.SetTypingDocument,
    "\n  subscription Typing($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      user {\n        id\n        displayName\n      }\n    }\n  }\n": types.TypingDocument,
    "\n  subscription ReadMarkers($conversationId: ID!) {\n    readMarkers(conversationId: $conversationId) {\n      conversationId\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n": types.ReadMarkersDocument,
    "\n  mutation RefreshToken {\n    refreshToken {\n      token\n    }\n  }\n": types.RefreshTokenDocument,
    "\n  query Messages($conversationId: ID!, $last: Int!, $before: String) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        node {\n          ...MessageFields\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": types.MessagesDocument,
    "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation EditMessage($input: EditMessageInput!) {\n    editMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n": types.EditMessageDocument,
    "\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n": types.DeleteMessageDocument,
    "\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n": types.StopGenerationDocument,
    "\n  mutation AddReaction($messageId: ID!, $emoji: String!) {\n    addReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n": types.AddReactionDocument,
    "\n  mutation RemoveReaction($messageId: ID!, $emoji: String!) {\n    removeReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n": types.RemoveReactionDocument,
    "\n  mutation MarkRead($conversationId: ID!, $messageId: ID!) {\n    markRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n      unreadCount\n      unreadMentionCount\n    }\n  }\n": types.MarkReadDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment BotCredentialsFields on BotCredentials {\n    token\n    webhookSecret\n    bot {\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment BotCredentialsFields on BotCredentials {\n    token\n    webhookSecret\n    bot {\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyBots {\n    myBots {\n      webhookUrl\n      createdAt\n      lastUsedAt\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  query MyBots {\n    myBots {\n      webhookUrl\n      createdAt\n      lastUsedAt\n      user {\n        id\n        username\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateBot($input: CreateBotInput!) {\n    createBot(input: $input) {\n      ...BotCredentialsFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateBot($input: CreateBotInput!) {\n    createBot(input: $input) {\n      ...BotCredentialsFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateBotToken($botId: ID!) {\n    rotateBotToken(botId: $botId) {\n      ...BotCredentialsFields\n    }\n  }\n"): (typeof documents)["\n  mutation RotateBotToken($botId: ID!) {\n    rotateBotToken(botId: $botId) {\n      ...BotCredentialsFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteBot($botId: ID!) {\n    deleteBot(botId: $botId)\n  }\n"): (typeof documents)["\n  mutation DeleteBot($botId: ID!) {\n    deleteBot(botId: $botId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      ...UserFields\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      ...UserFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogIn($input: LogInInput!) {\n    logIn(input: $input) {\n      token\n    }\n  }\n"): (typeof documents)["\n  mutation LogIn($input: LogInInput!) {\n    logIn(input: $input) {\n      token\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SearchMessages($query: String!, $first: Int!, $after: String) {\n    searchMessages(query: $query, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          body\n          createdAt\n          conversation {\n            id\n          }\n          sender {\n            id\n            displayName\n          }\n          mentions {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query SearchMessages($query: String!, $first: Int!, $after: String) {\n    searchMessages(query: $query, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          body\n          createdAt\n          conversation {\n            id\n          }\n          sender {\n            id\n            displayName\n          }\n          mentions {\n            id\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConversationMuted($id: ID!) {\n    conversation(id: $id) {\n      id\n      muted\n    }\n  }\n"): (typeof documents)["\n  query ConversationMuted($id: ID!) {\n    conversation(id: $id) {\n      id\n      muted\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetConversationMuted($id: ID!, $muted: Boolean!) {\n    setConversationMuted(conversationId: $id, muted: $muted) {\n      id\n      muted\n    }\n  }\n"): (typeof documents)["\n  mutation SetConversationMuted($id: ID!, $muted: Boolean!) {\n    setConversationMuted(conversationId: $id, muted: $muted) {\n      id\n      muted\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UserFields on User {\n    id\n    username\n    displayName\n    isBot\n    online\n    lastSeenAt\n  }\n"): (typeof documents)["\n  fragment UserFields on User {\n    id\n    username\n    displayName\n    isBot\n    online\n    lastSeenAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment MessageFields on Message {\n    id\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    generation\n    conversation {\n      id\n    }\n    sender {\n      id\n      username\n      displayName\n      isBot\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    replyTo {\n      id\n      body\n      deletedAt\n      sender {\n        id\n        displayName\n      }\n    }\n    mentions {\n      id\n      username\n    }\n    attachments {\n      id\n      kind\n      filename\n      contentType\n      byteSize\n      width\n      height\n      url\n      thumbnailUrl\n    }\n  }\n"): (typeof documents)["\n  fragment MessageFields on Message {\n    id\n    body\n    clientMessageId\n    createdAt\n    editedAt\n    deletedAt\n    generation\n    conversation {\n      id\n    }\n    sender {\n      id\n      username\n      displayName\n      isBot\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    replyTo {\n      id\n      body\n      deletedAt\n      sender {\n        id\n        displayName\n      }\n    }\n    mentions {\n      id\n      username\n    }\n    attachments {\n      id\n      kind\n      filename\n      contentType\n      byteSize\n      width\n      height\n      url\n      thumbnailUrl\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ConversationFields on Conversation {\n    id\n    kind\n    title\n    createdAt\n    unreadCount\n    myRole\n    unreadMentionCount\n    members {\n      ...UserFields\n    }\n    memberships {\n      role\n      joinedAt\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n    lastMessage {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  fragment ConversationFields on Conversation {\n    id\n    kind\n    title\n    createdAt\n    unreadCount\n    myRole\n    unreadMentionCount\n    members {\n      ...UserFields\n    }\n    memberships {\n      role\n      joinedAt\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n    lastMessage {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PushConfig {\n    pushConfig {\n      vapidPublicKey\n    }\n  }\n"): (typeof documents)["\n  query PushConfig {\n    pushConfig {\n      vapidPublicKey\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RegisterPushSubscription($input: PushSubscriptionInput!) {\n    registerPushSubscription(input: $input)\n  }\n"): (typeof documents)["\n  mutation RegisterPushSubscription($input: PushSubscriptionInput!) {\n    registerPushSubscription(input: $input)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnregisterPushSubscription($endpoint: String!) {\n    unregisterPushSubscription(endpoint: $endpoint)\n  }\n"): (typeof documents)["\n  mutation UnregisterPushSubscription($endpoint: String!) {\n    unregisterPushSubscription(endpoint: $endpoint)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProfile($displayName: String!) {\n    updateProfile(displayName: $displayName) {\n      ...UserFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateProfile($displayName: String!) {\n    updateProfile(displayName: $displayName) {\n      ...UserFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      token\n    }\n  }\n"): (typeof documents)["\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) {\n      token\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogOut {\n    logOut\n  }\n"): (typeof documents)["\n  mutation LogOut {\n    logOut\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LogOutEverywhere {\n    logOutEverywhere\n  }\n"): (typeof documents)["\n  mutation LogOutEverywhere {\n    logOutEverywhere\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Conversations($first: Int!) {\n    conversations(first: $first) {\n      eventCursor\n      edges {\n        node {\n          ...ConversationFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Conversations($first: Int!) {\n    conversations(first: $first) {\n      eventCursor\n      edges {\n        node {\n          ...ConversationFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageEvents($after: String) {\n    messageEvents(after: $after) {\n      kind\n      cursor\n      message {\n        ...MessageFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription MessageEvents($after: String) {\n    messageEvents(after: $after) {\n      kind\n      cursor\n      message {\n        ...MessageFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConversationEvents {\n    conversationEvents {\n      kind\n      conversationId\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ConversationEvents {\n    conversationEvents {\n      kind\n      conversationId\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation OpenDirectConversation($userId: ID!) {\n    openDirectConversation(userId: $userId) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  mutation OpenDirectConversation($userId: ID!) {\n    openDirectConversation(userId: $userId) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateGroupConversation($input: CreateGroupInput!) {\n    createGroupConversation(input: $input) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateGroupConversation($input: CreateGroupInput!) {\n    createGroupConversation(input: $input) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SearchUsers($search: String!) {\n    users(search: $search, first: 20) {\n      edges {\n        node {\n          ...UserFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query SearchUsers($search: String!) {\n    users(search: $search, first: 20) {\n      edges {\n        node {\n          ...UserFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenameConversation($conversationId: ID!, $title: String!) {\n    renameConversation(conversationId: $conversationId, title: $title) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  mutation RenameConversation($conversationId: ID!, $title: String!) {\n    renameConversation(conversationId: $conversationId, title: $title) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddMembers($conversationId: ID!, $userIds: [ID!]!) {\n    addMembers(conversationId: $conversationId, userIds: $userIds) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  mutation AddMembers($conversationId: ID!, $userIds: [ID!]!) {\n    addMembers(conversationId: $conversationId, userIds: $userIds) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveMember($conversationId: ID!, $userId: ID!) {\n    removeMember(conversationId: $conversationId, userId: $userId) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveMember($conversationId: ID!, $userId: ID!) {\n    removeMember(conversationId: $conversationId, userId: $userId) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetMemberRole($conversationId: ID!, $userId: ID!, $role: MemberRole!) {\n    setMemberRole(conversationId: $conversationId, userId: $userId, role: $role) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetMemberRole($conversationId: ID!, $userId: ID!, $role: MemberRole!) {\n    setMemberRole(conversationId: $conversationId, userId: $userId, role: $role) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LeaveConversation($conversationId: ID!) {\n    leaveConversation(conversationId: $conversationId)\n  }\n"): (typeof documents)["\n  mutation LeaveConversation($conversationId: ID!) {\n    leaveConversation(conversationId: $conversationId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation BlockUser($userId: ID!) {\n    blockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n"): (typeof documents)["\n  mutation BlockUser($userId: ID!) {\n    blockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnblockUser($userId: ID!) {\n    unblockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n"): (typeof documents)["\n  mutation UnblockUser($userId: ID!) {\n    unblockUser(userId: $userId) {\n      id\n      blockedByMe\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Blocked($userId: ID!) {\n    user(id: $userId) {\n      id\n      blockedByMe\n    }\n  }\n"): (typeof documents)["\n  query Blocked($userId: ID!) {\n    user(id: $userId) {\n      id\n      blockedByMe\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Presence {\n    presence {\n      online\n      user {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription Presence {\n    presence {\n      online\n      user {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n"): (typeof documents)["\n  mutation SetTyping($conversationId: ID!, $typing: Boolean!) {\n    setTyping(conversationId: $conversationId, typing: $typing)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Typing($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      user {\n        id\n        displayName\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription Typing($conversationId: ID!) {\n    typing(conversationId: $conversationId) {\n      typing\n      user {\n        id\n        displayName\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ReadMarkers($conversationId: ID!) {\n    readMarkers(conversationId: $conversationId) {\n      conversationId\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ReadMarkers($conversationId: ID!) {\n    readMarkers(conversationId: $conversationId) {\n      conversationId\n      lastReadMessageId\n      user {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RefreshToken {\n    refreshToken {\n      token\n    }\n  }\n"): (typeof documents)["\n  mutation RefreshToken {\n    refreshToken {\n      token\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Messages($conversationId: ID!, $last: Int!, $before: String) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        node {\n          ...MessageFields\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Messages($conversationId: ID!, $last: Int!, $before: String) {\n    messages(conversationId: $conversationId, last: $last, before: $before) {\n      edges {\n        node {\n          ...MessageFields\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EditMessage($input: EditMessageInput!) {\n    editMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation EditMessage($input: EditMessageInput!) {\n    editMessage(input: $input) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteMessage($messageId: ID!) {\n    deleteMessage(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(messageId: $messageId) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddReaction($messageId: ID!, $emoji: String!) {\n    addReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation AddReaction($messageId: ID!, $emoji: String!) {\n    addReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveReaction($messageId: ID!, $emoji: String!) {\n    removeReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveReaction($messageId: ID!, $emoji: String!) {\n    removeReaction(messageId: $messageId, emoji: $emoji) {\n      ...MessageFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkRead($conversationId: ID!, $messageId: ID!) {\n    markRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n      unreadCount\n      unreadMentionCount\n    }\n  }\n"): (typeof documents)["\n  mutation MarkRead($conversationId: ID!, $messageId: ID!) {\n    markRead(conversationId: $conversationId, messageId: $messageId) {\n      id\n      unreadCount\n      unreadMentionCount\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;