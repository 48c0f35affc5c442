// The naive reference: what a chat API looks like when written the quick way
// with the same libraries: graphql-yoga, graphql-ws on `ws`, and
// graphql-subscriptions' in-memory PubSub. No database (everything lives in
// maps), no password hashing, no event log, no resume, no membership cache:
// sendMessage publishes the message on the conversation's topic and every
// subscriber's iterator gets it. It exposes the operations the generator uses
// with the same names and shapes as the project's API, so one generator drives
// both.
//
// NAIVE_HISTORY_MESSAGES=N pre-creates users hist_a and hist_b (password
// bench-password-1) and a group "bench-history" holding N messages, for the
// history scenario.
//
// Run: PORT=4200 HOST=127.0.0.1 node --import tsx bench/naive-server.ts
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { GraphQLError } from 'graphql';
import { PubSub } from 'graphql-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 4200);
const host = process.env.HOST ?? '127.0.0.1';
const historyMessages = Number(process.env.NAIVE_HISTORY_MESSAGES ?? 0);
const HISTORY_PASSWORD = 'bench-password-1';

type User = { id: number; username: string; displayName: string; password: string };
type Message = { id: number; conversationId: number; senderId: number; body: string; createdAt: string };
type Conversation = {
  id: number;
  kind: 'DIRECT' | 'GROUP';
  title: string | null;
  members: Set<number>;
  /** In id order, so a page is found by binary search. */
  messages: Message[];
};

const users = new Map<number, User>();
const usersByName = new Map<string, User>();
const tokens = new Map<string, number>();
const conversations = new Map<number, Conversation>();
const directs = new Map<string, Conversation>();
const pubsub = new PubSub();
let lastId = 0;

const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');
const cursorOf = (kind: string, id: number) => Buffer.from(`${kind}:${id}`).toString('base64url');
function parseId(type: string, value: string): number {
  const [actual, id] = Buffer.from(value, 'base64').toString().split(':');
  if (actual !== type || !id) throw new GraphQLError('Not found.', { extensions: { code: 'NOT_FOUND' } });
  return Number(id);
}
function parseCursor(kind: string, value: string): number {
  const [actual, id] = Buffer.from(value, 'base64url').toString().split(':');
  if (actual !== kind || !id) throw new GraphQLError('Bad cursor.', { extensions: { code: 'BAD_USER_INPUT' } });
  return Number(id);
}

type Context = { viewer: User | null };

function viewerOf(context: Context): User {
  if (!context.viewer) throw new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } });
  return context.viewer;
}
function memberConversation(context: Context, id: string): Conversation {
  const conversation = conversations.get(parseId('Conversation', id));
  if (!conversation || !conversation.members.has(viewerOf(context).id)) {
    throw new GraphQLError('Conversation not found.', { extensions: { code: 'NOT_FOUND' } });
  }
  return conversation;
}
function addUser(username: string, password: string): User {
  if (usersByName.has(username)) throw new GraphQLError('Taken.', { extensions: { code: 'CONFLICT' } });
  const user = { id: ++lastId, username, displayName: username, password };
  users.set(user.id, user);
  usersByName.set(username, user);
  return user;
}
function issue(user: User) {
  const token = randomBytes(24).toString('hex');
  tokens.set(token, user.id);
  return { token, user };
}
function addConversation(kind: 'DIRECT' | 'GROUP', title: string | null, members: number[]): Conversation {
  const conversation: Conversation = { id: ++lastId, kind, title, members: new Set(members), messages: [] };
  conversations.set(conversation.id, conversation);
  return conversation;
}
function addMessage(conversation: Conversation, senderId: number, body: string): Message {
  const message = {
    id: ++lastId,
    conversationId: conversation.id,
    senderId,
    body,
    createdAt: new Date().toISOString(),
  };
  conversation.messages.push(message);
  return message;
}
/** Index of the first message whose id is >= id. */
function lowerBound(messages: Message[], id: number): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (messages[middle]!.id < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

const typeDefs = /* GraphQL */ `
  scalar DateTime
  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }
  type User {
    id: ID!
    username: String!
    displayName: String!
  }
  type AuthPayload {
    token: String!
    user: User!
  }
  enum ConversationKind {
    DIRECT
    GROUP
  }
  type Conversation {
    id: ID!
    kind: ConversationKind!
    title: String
  }
  type ConversationEdge {
    cursor: String!
    node: Conversation!
  }
  type ConversationConnection {
    edges: [ConversationEdge!]!
    pageInfo: PageInfo!
  }
  type Message {
    id: ID!
    body: String
    createdAt: DateTime!
    sender: User!
    conversation: Conversation!
  }
  type MessageEdge {
    cursor: String!
    node: Message!
  }
  type MessageConnection {
    edges: [MessageEdge!]!
    pageInfo: PageInfo!
    eventCursor: String!
  }
  enum MessageEventKind {
    CREATED
    EDITED
    DELETED
    REACTIONS_CHANGED
  }
  type MessageEvent {
    kind: MessageEventKind!
    cursor: String!
    message: Message!
  }
  input SignUpInput {
    username: String!
    password: String!
    displayName: String
  }
  input LogInInput {
    username: String!
    password: String!
  }
  input CreateGroupInput {
    title: String!
    memberIds: [ID!]!
  }
  input SendMessageInput {
    conversationId: ID!
    body: String!
    clientMessageId: String
  }
  type Query {
    me: User
    conversations(first: Int, after: String): ConversationConnection!
    messages(conversationId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection!
  }
  type Mutation {
    signUp(input: SignUpInput!): AuthPayload!
    logIn(input: LogInInput!): AuthPayload!
    openDirectConversation(userId: ID!): Conversation!
    createGroupConversation(input: CreateGroupInput!): Conversation!
    sendMessage(input: SendMessageInput!): Message!
  }
  type Subscription {
    messageEvents(conversationId: ID!, after: String): MessageEvent!
  }
`;

const page = { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null };

const schema = createSchema<Context>({
  typeDefs,
  resolvers: {
    User: { id: (user: User) => globalId('User', user.id) },
    Conversation: { id: (conversation: Conversation) => globalId('Conversation', conversation.id) },
    Message: {
      id: (message: Message) => globalId('Message', message.id),
      sender: (message: Message) => users.get(message.senderId),
      conversation: (message: Message) => conversations.get(message.conversationId),
    },
    Query: {
      me: (_root: unknown, _args: unknown, context: Context) => context.viewer,
      conversations: (_root: unknown, args: { first?: number }, context: Context) => {
        const viewer = viewerOf(context);
        const mine = [...conversations.values()].filter((conversation) => conversation.members.has(viewer.id));
        const edges = mine
          .slice(0, args.first ?? 50)
          .map((node) => ({ cursor: cursorOf('conversation', node.id), node }));
        return { edges, pageInfo: page };
      },
      messages: (
        _root: unknown,
        args: { conversationId: string; first?: number; after?: string; last?: number; before?: string },
        context: Context,
      ) => {
        const { messages } = memberConversation(context, args.conversationId);
        let start: number;
        let end: number;
        if (args.first != null || args.after != null) {
          start = args.after ? lowerBound(messages, parseCursor('message', args.after) + 1) : 0;
          end = Math.min(messages.length, start + (args.first ?? 50));
        } else {
          end = args.before ? lowerBound(messages, parseCursor('message', args.before)) : messages.length;
          start = Math.max(0, end - (args.last ?? 50));
        }
        const edges = messages.slice(start, end).map((node) => ({ cursor: cursorOf('message', node.id), node }));
        return {
          edges,
          pageInfo: {
            hasPreviousPage: start > 0,
            hasNextPage: end < messages.length,
            startCursor: edges[0]?.cursor ?? null,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
          eventCursor: cursorOf('event', lastId),
        };
      },
    },
    Mutation: {
      signUp: (_root: unknown, { input }: { input: { username: string; password: string } }) =>
        issue(addUser(input.username.toLowerCase(), input.password)),
      logIn: (_root: unknown, { input }: { input: { username: string; password: string } }) => {
        const user = usersByName.get(input.username.toLowerCase());
        if (!user || user.password !== input.password) {
          throw new GraphQLError('Wrong username or password.', { extensions: { code: 'UNAUTHENTICATED' } });
        }
        return issue(user);
      },
      openDirectConversation: (_root: unknown, { userId }: { userId: string }, context: Context) => {
        const viewer = viewerOf(context);
        const other = parseId('User', userId);
        const key = [viewer.id, other].sort((a, b) => a - b).join(':');
        let conversation = directs.get(key);
        if (!conversation) directs.set(key, (conversation = addConversation('DIRECT', null, [viewer.id, other])));
        return conversation;
      },
      createGroupConversation: (
        _root: unknown,
        { input }: { input: { title: string; memberIds: string[] } },
        context: Context,
      ) =>
        addConversation('GROUP', input.title, [
          viewerOf(context).id,
          ...input.memberIds.map((id) => parseId('User', id)),
        ]),
      sendMessage: async (
        _root: unknown,
        { input }: { input: { conversationId: string; body: string } },
        context: Context,
      ) => {
        const conversation = memberConversation(context, input.conversationId);
        const message = addMessage(conversation, viewerOf(context).id, input.body);
        await pubsub.publish(`conversation:${conversation.id}`, {
          kind: 'CREATED',
          cursor: cursorOf('event', message.id),
          message,
        });
        return message;
      },
    },
    Subscription: {
      messageEvents: {
        subscribe: (_root: unknown, { conversationId }: { conversationId: string }, context: Context) =>
          pubsub.asyncIterableIterator(`conversation:${memberConversation(context, conversationId).id}`),
        resolve: (event: unknown) => event,
      },
    },
  },
});

const yoga = createYoga({
  schema,
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  logging: 'warn',
  context: ({ request, connectionParams }: { request?: Request; connectionParams?: Record<string, unknown> }) => {
    const header =
      (connectionParams?.authorization as string | undefined) ?? request?.headers.get('authorization') ?? '';
    const userId = tokens.get(header.replace(/^Bearer\s+/i, ''));
    return { viewer: userId === undefined ? null : (users.get(userId) ?? null) };
  },
});

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200).end('ok');
    return;
  }
  void yoga.handle(req, res);
});

const wss = new WebSocketServer({ server, path: '/graphql' });
useServer(
  {
    onConnect: (ctx) => {
      const header = (ctx.connectionParams?.authorization as string | undefined) ?? '';
      return tokens.has(header.replace(/^Bearer\s+/i, ''));
    },
    execute: (args: any) => args.rootValue.execute(args),
    subscribe: (args: any) => args.rootValue.subscribe(args),
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const args = {
        schema,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      if (errors.length) return errors;
      return args;
    },
  },
  wss,
);

if (historyMessages > 0) {
  const a = addUser('hist_a', HISTORY_PASSWORD);
  const b = addUser('hist_b', HISTORY_PASSWORD);
  const conversation = addConversation('GROUP', 'bench-history', [a.id, b.id]);
  for (let index = 0; index < historyMessages; index++) {
    addMessage(conversation, index % 2 ? a.id : b.id, `history message #${index + 1} lorem ipsum dolor sit amet`);
  }
}

server.listen(port, host, () => console.log(`naive reference listening on http://${host}:${port}/graphql`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    for (const socket of wss.clients) socket.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1_000).unref();
  });
}
