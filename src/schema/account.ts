// The caller's account and sessions: profile, password, logging out (one
// session or all), and refreshing the token, over HTTP or an open WebSocket.
import { writeAlone } from '../db/transaction.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { User } from '../db/entities/index.js';
import { listConversationIdsOf } from '../db/conversations.js';
import { unauthenticated, wrongPassword } from '../errors.js';
import type { Context } from '../context.js';
import { builder } from './builder.js';
import { displayName, password } from './limits.js';
import { AuthPayload, UserRef } from './user.js';

async function requireViewer(context: Context): Promise<User> {
  const user = await context.loaders.user.load(context.viewer!.id);
  if (!user) throw unauthenticated();
  return user;
}

builder.mutationFields((t) => ({
  updateProfile: t.field({
    type: UserRef,
    authScopes: { authenticated: true },
    description: "Shows up for every member of the caller's conversations through conversationEvents (UPDATED).",
    args: { displayName: t.arg.string({ required: true, validate: displayName }) },
    resolve: async (_root, args, context) => {
      // Each change costs every conversation's members a reload, as a membership change does.
      await context.rateLimiter.consume('membershipChange', context.viewer!.id);
      const user = await requireViewer(context);
      await writeAlone(context.dataSource, (manager) =>
        manager.update(
          User,
          { id: user.id },
          { displayName: args.displayName, displayNameLower: args.displayName.toLowerCase() },
        ),
      );
      const conversationIds = await listConversationIdsOf(context.dataSource, user.id);
      await Promise.all(
        conversationIds.map((conversationId) =>
          context.realtime.memberships.publish({ conversationId, joined: [], left: [] }),
        ),
      );
      context.loaders.user.clear(user.id);
      return (await context.loaders.user.load(user.id))!;
    },
  }),
  changePassword: t.field({
    type: AuthPayload,
    authScopes: { authenticated: true },
    description: 'Revokes every token of the caller, the one used included, and returns a fresh one for this client.',
    args: {
      currentPassword: t.arg.string({ required: true }),
      newPassword: t.arg.string({ required: true, validate: password }),
    },
    resolve: async (_root, args, context) => {
      const user = await requireViewer(context);
      // Limited as logIn is: a stolen token must not become a way to guess the password.
      await context.rateLimiter.consume('logInPerIp', context.clientIp);
      await context.rateLimiter.consume('logInPerUsername', user.username);
      if (!(await verifyPassword(user.passwordHash, args.currentPassword))) {
        throw wrongPassword('currentPassword');
      }
      const passwordHash = await hashPassword(args.newPassword);
      await writeAlone(context.dataSource, (manager) => manager.update(User, { id: user.id }, { passwordHash }));
      await context.sessions.revoke({ userId: user.id });
      return { token: await context.sessions.issue(user.id), user };
    },
  }),
  logOut: t.boolean({
    authScopes: { authenticated: true },
    description:
      'Revokes the token used: later requests with it are UNAUTHENTICATED, its sockets close with 4403 within 2 s.',
    resolve: async (_root, _args, context) => {
      await context.sessions.revoke({ userId: context.viewer!.id, sessionId: context.sessionId! });
      return true;
    },
  }),
  logOutEverywhere: t.boolean({
    authScopes: { authenticated: true },
    description: 'Revokes every token of the caller, on every instance.',
    resolve: async (_root, _args, context) => {
      await context.sessions.revoke({ userId: context.viewer!.id });
      return true;
    },
  }),
  refreshToken: t.field({
    type: AuthPayload,
    authScopes: { authenticated: true },
    description:
      "A fresh token for the caller. Sent over a WebSocket, the socket goes on\nunder the new token's expiry with its subscriptions intact.",
    resolve: async (_root, _args, context) => {
      const user = await requireViewer(context);
      const token = await context.sessions.refresh({ userId: user.id, sessionId: context.sessionId! });
      const claims = await context.sessions.verify(token);
      if (!claims) throw unauthenticated(); // revoked meanwhile
      context.renewSocketExpiry?.(claims.expiresAt);
      return { token, user };
    },
  }),
}));
