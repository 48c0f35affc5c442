import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { User } from '../db/entities/index.js';
import { findUserByUsername, insertUser, searchUsers } from '../db/users.js';
import { conflict, unauthenticated } from '../errors.js';
import type { Context } from '../context.js';
import { builder } from './builder.js';
import { decodeId } from './ids.js';
import { displayName, password, userSearch, username } from './limits.js';
import { decodeNumericCursor, encodeCursor, parsePageArgs, toConnection } from './pagination.js';

/** Whether the user blocked the caller; asked only of users who blocked anyone, so others' presence stays shared. */
async function blocksViewer(context: Context, userId: number): Promise<boolean> {
  return context.realtime.blockers.mayHaveBlocked(userId) && context.loaders.blocksViewer.load(userId);
}

export const UserRef = builder.node(builder.objectRef<User>('User'), {
  id: { resolve: (user) => user.id },
  isTypeOf: (value) => value instanceof User,
  fields: (t) => ({
    username: t.exposeString('username'),
    displayName: t.exposeString('displayName'),
    isBot: t.exposeBoolean('isBot', { description: 'True for bots (createBot) and for the assistant.' }),
    // Presence is for people who share a conversation with the caller, as in the
    // presence subscription: to anyone else a user is offline and never seen.
    // The sharing check runs only when it changes the answer, so an execution
    // shared between subscribers reads the viewer no more than it must.
    online: t.boolean({
      description:
        'True while the user has at least one authenticated WebSocket on any server\ninstance. Always false for a user who shares no conversation with the caller.',
      resolve: async (user, _args, context) =>
        (await context.loaders.online.load(user.id)) &&
        (await context.loaders.sharesConversation.load(user.id)) &&
        // Someone who blocked the caller looks offline to them (schema/block.ts).
        !(await blocksViewer(context, user.id)),
    }),
    lastSeenAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        "When the user's last connection closed; null while online, if never seen, or\nfor a user who shares no conversation with the caller.",
      resolve: async (user, _args, context) => {
        if (user.lastSeenAt === null || (await context.loaders.online.load(user.id))) return null;
        if (await blocksViewer(context, user.id)) return null;
        return (await context.loaders.sharesConversation.load(user.id)) ? user.lastSeenAt : null;
      },
    }),
  }),
});

const UserConnection = builder.connectionObject({ type: UserRef, name: 'UserConnection' }, { name: 'UserEdge' });

export const AuthPayload = builder.objectRef<{ token: string; user: User }>('AuthPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token'),
    user: t.field({
      type: UserRef,
      resolve: (payload, _args, context) => {
        // The caller just proved to be this user, though the operation ran without a viewer.
        context.loaders.prime('sharesConversation', payload.user.id, true);
        return payload.user;
      },
    }),
  }),
});

const SignUpInput = builder.inputType('SignUpInput', {
  fields: (t) => ({
    username: t.string({ required: true, validate: username }),
    password: t.string({ required: true, validate: password }),
    displayName: t.string({ description: 'Defaults to the username.', validate: displayName }),
  }),
});

const LogInInput = builder.inputType('LogInInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    password: t.string({ required: true }),
  }),
});

const USER_CURSOR = 'user';

builder.queryFields((t) => ({
  me: t.field({
    type: UserRef,
    nullable: true,
    description: 'The caller, or null without a valid token.',
    resolve: (_root, _args, context) => (context.viewer ? context.loaders.user.load(context.viewer.id) : null),
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, context) => {
      const id = decodeId('User', String(args.id));
      return id === null ? null : context.loaders.user.load(id);
    },
  }),
  users: t.field({
    type: UserConnection,
    authScopes: { authenticated: true },
    description: 'Users whose username or displayName contains search (case-insensitive).',
    args: { search: t.arg.string({ validate: userSearch }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, context) => {
      const request = parsePageArgs({ first: args.first, after: args.after });
      const afterId = request.after === null ? null : decodeNumericCursor(USER_CURSOR, request.after, 'after');
      const rows = await searchUsers(context.dataSource, {
        search: args.search ?? null,
        afterId,
        limit: request.limit + 1,
      });
      for (const user of rows) context.loaders.prime('user', user.id, user);
      return toConnection(rows, request, (user) => encodeCursor(USER_CURSOR, user.id), afterId !== null);
    },
  }),
}));

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      await context.rateLimiter.consume('signUpPerIp', context.clientIp);
      const user = await insertUser(context.dataSource, {
        username: input.username,
        displayName: input.displayName ?? input.username,
        passwordHash: await hashPassword(input.password),
      });
      if (!user) throw conflict('That username is taken.');
      return { token: await context.tokens.issue(user.id), user };
    },
  }),
  logIn: t.field({
    type: AuthPayload,
    args: { input: t.arg({ type: LogInInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const username = input.username.toLowerCase();
      // Per address and per account: guessing one password from many addresses is slowed too.
      await context.rateLimiter.consume('logInPerIp', context.clientIp);
      await context.rateLimiter.consume('logInPerUsername', username);
      const user = await findUserByUsername(context.dataSource, username);
      // Unknown user and wrong password give one answer, in the same time.
      if (!(await verifyPassword(user?.passwordHash, input.password)) || !user) {
        throw unauthenticated('Wrong username or password.');
      }
      return { token: await context.tokens.issue(user.id), user };
    },
  }),
}));
